import { createHash } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { HubStreamEvent } from "./stream-options.js";
import { HubClient } from "./hub-client.js";
import { collect, failureOf, startSeededHub, type SeededHub } from "./test-support/seeded-repo.js";

// Each fault of the test server against the client: every download ends with exactly the file's
// bytes, or with a typed error; never with bytes handed out twice, skipped, or beyond the end.
const REPO = "OpenAssistant/faulty-xor";
const SHARD = "pytorch_model-00001-of-00007.bin";
const SMALL = "config.json";
const SIZE = 4 * 1024 * 1024 + 777;
let hub: SeededHub;

beforeAll(async () => {
  hub = await startSeededHub(REPO, { [SHARD]: SIZE, [SMALL]: 40_000 });
});
afterAll(() => hub.close());
beforeEach(() => {
  hub.server.clearLog();
  for (const path of [SHARD, SMALL]) hub.server.setFaults(REPO, path, {});
});

function download(path: string, options: { verify?: boolean; from?: number; expected?: { etag?: string; size?: number } } = {}, clientOptions = {}) {
  const events: HubStreamEvent[] = [];
  const client = new HubClient({ endpoint: hub.server.endpoint, retryDelayMs: 1, ...clientOptions });
  const stream = client.openFile(REPO, "main", path, { ...options, onEvent: (e) => events.push(e) });
  return { stream, events, bytes: () => collect(stream) };
}

const cdnRanges = () => hub.server.requests.filter((r) => r.origin === "cdn").map((r) => r.headers.range);
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("cut connections", () => {
  it("comes through three resets in one LFS file, resuming each time from the first byte not handed out", async () => {
    hub.server.setFaults(REPO, SHARD, { cutAt: [100_000, 1_500_000, 3_000_000] });
    const { bytes, events } = download(SHARD, { verify: true });
    expect(sha256(await bytes())).toBe(sha256(hub.content.get(SHARD)!));
    const retries = events.filter((e) => e.type === "retry");
    expect(retries).toHaveLength(3);
    expect(cdnRanges()).toEqual([undefined, ...retries.map((e) => `bytes=${e.position}-`)]);
    // Each resume goes back through the endpoint: a signed CDN URL may have expired.
    expect(hub.server.requests.filter((r) => r.origin === "hub")).toHaveLength(4);
  });

  it("comes through two resets in a small file served by the endpoint itself", async () => {
    hub.server.setFaults(REPO, SMALL, { cutAt: [1000, 30_000] });
    const { bytes, events } = download(SMALL, { verify: true });
    expect(Buffer.compare(await bytes(), hub.content.get(SMALL)!)).toBe(0);
    expect(events.filter((e) => e.type === "retry")).toHaveLength(2);
  });

  it("takes a body that ends early under a correct Content-Length as a cut: resumed, never short", async () => {
    hub.server.setFaults(REPO, SHARD, { truncateAt: [2_000_000] });
    const { bytes, events } = download(SHARD);
    expect(Buffer.compare(await bytes(), hub.content.get(SHARD)!)).toBe(0);
    expect(events).toEqual([expect.objectContaining({ type: "retry", position: 2_000_000, reason: expect.stringMatching(/terminated|other side closed|ECONNRESET/) })]);
    expect(cdnRanges()).toEqual([undefined, "bytes=2000000-"]);
  });

  it("continues a 206 that carries only part of what was asked", async () => {
    hub.server.setFaults(REPO, SHARD, { partialRange: 2 });
    const { bytes, events } = download(SHARD);
    expect(Buffer.compare(await bytes(), hub.content.get(SHARD)!)).toBe(0);
    expect(events.map((e) => e.type === "retry" && e.reason)).toEqual([`the body ended at byte ${SIZE / 2 + 0.5 * (SIZE % 2)} of ${SIZE}`, expect.any(String)]);
    expect(hub.server.requests.reduce((sum, r) => sum + r.bodyBytes, 0)).toBe(SIZE);
  });
});

describe("a server that ignores Range", () => {
  it("drops the bytes before the resume point when a resume is answered 200: none handed out twice", async () => {
    hub.server.setFaults(REPO, SHARD, { cutAt: [1_000_000], ignoreRange: 1 });
    const { stream, bytes, events } = download(SHARD, { verify: true });
    expect(sha256(await bytes())).toBe(sha256(hub.content.get(SHARD)!));
    const resumedAt = (events.find((e) => e.type === "retry") as { position: number }).position;
    expect(events).toContainEqual({ type: "range-ignored", position: resumedAt });
    expect(stream.bytesDiscarded).toBe(resumedAt);
    expect(stream.bytesReceived).toBe(SIZE + resumedAt);
  });

  it("drops the first `from` bytes when a resume from an earlier run is answered 200", async () => {
    hub.server.setFaults(REPO, SMALL, { ignoreRange: 1 });
    const { stream, bytes } = download(SMALL, { from: 12_345 });
    expect(Buffer.compare(await bytes(), hub.content.get(SMALL)!.subarray(12_345))).toBe(0);
    expect(stream.bytesDiscarded).toBe(12_345);
  });
});

describe("corrupt bytes", () => {
  it("fails an LFS file with a flipped byte (HUB_DIGEST) before handing out its last chunk", async () => {
    hub.server.setFaults(REPO, SHARD, { flipByteAt: 3_333_333 });
    const { stream } = download(SHARD, { verify: true });
    let handedOut = 0;
    const error = await failureOf(
      (async () => {
        for await (const chunk of stream) handedOut += chunk.length;
      })(),
    );
    expect(error.code).toBe("HUB_DIGEST");
    expect(error.message).toMatch(new RegExp(`^${REPO}@main ${SHARD}: the sha256 of the ${SIZE} bytes received is [0-9a-f]{64}, the Hub reports ${sha256(hub.content.get(SHARD)!)}; the download is corrupt, run it again$`));
    expect(handedOut).toBeLessThan(SIZE);
  });

  it("fails a small file with a flipped byte against its git blob id (HUB_DIGEST)", async () => {
    hub.server.setFaults(REPO, SMALL, { flipByteAt: 7 });
    await expect(download(SMALL, { verify: true }).bytes()).rejects.toMatchObject({ code: "HUB_DIGEST", message: expect.stringContaining("git blob id") });
  });

  it("refuses bytes past the end of what was announced (HUB_SIZE) and never hands them out", async () => {
    hub.server.setFaults(REPO, SHARD, { overflowBytes: 10 });
    const { stream } = download(SHARD);
    await expect(collect(stream)).rejects.toMatchObject({ code: "HUB_SIZE", message: `${REPO}@main ${SHARD}: the server sent more than the ${SIZE} bytes announced (file of ${SIZE} bytes); refusing the extra bytes` });
    expect(stream.position).toBeLessThanOrEqual(SIZE);
  });
});

describe("slow and failing servers", () => {
  it("drops a body that stalls for longer than idleTimeoutMs and resumes it", async () => {
    hub.server.setFaults(REPO, SHARD, { stallAt: { offset: 1_048_576, ms: 4000 } });
    const { bytes, events } = download(SHARD, {}, { idleTimeoutMs: 1000 });
    expect(Buffer.compare(await bytes(), hub.content.get(SHARD)!)).toBe(0);
    expect(events[0]).toMatchObject({ type: "retry", reason: expect.stringMatching(/^no data for 1 s at byte \d+$/) });
  });

  it("retries a server that sends no headers within fetchTimeoutMs", async () => {
    hub.server.setFaults(REPO, SMALL, { delayHeadersMs: 4000 });
    const { bytes, events } = download(SMALL, {}, { fetchTimeoutMs: 1000 });
    expect(Buffer.compare(await bytes(), hub.content.get(SMALL)!)).toBe(0);
    expect(events[0]).toMatchObject({ type: "retry", position: 0, reason: "no response within 1 s" });
  });

  it("retries a 503 and then succeeds", async () => {
    hub.server.setFaults(REPO, SHARD, { unavailable: 1 });
    const { bytes, events } = download(SHARD);
    expect(Buffer.compare(await bytes(), hub.content.get(SHARD)!)).toBe(0);
    expect(events).toEqual([expect.objectContaining({ type: "retry", attempt: 1, reason: `HTTP 503 from ${hub.server.endpoint}`, delayMs: 0 })]);
  });

  it("gives up with HUB_TRANSFER, naming the byte and the last reason, when the retries run out", async () => {
    hub.server.setFaults(REPO, SHARD, { unavailable: 100 });
    const { bytes } = download(SHARD, { from: 5000 }, { retries: 2 });
    await expect(bytes()).rejects.toMatchObject({
      code: "HUB_TRANSFER",
      message: `${REPO}@main ${SHARD}: download failed 3 times in a row at byte 5000 (last: HTTP 503 from ${hub.server.endpoint}); check the network and run again to resume`,
    });
    expect(hub.server.requests).toHaveLength(3);
  });

  it("counts failures in a row only: cuts that each bring progress never exhaust the retries", async () => {
    hub.server.setFaults(REPO, SHARD, { cutAt: [500_000, 1_000_000, 1_500_000, 2_000_000] });
    const { bytes, events } = download(SHARD, {}, { retries: 1 });
    expect(Buffer.compare(await bytes(), hub.content.get(SHARD)!)).toBe(0);
    expect(events.every((e) => e.type === "retry" && e.attempt === 1)).toBe(true);
  });
});

describe("a slow consumer", () => {
  it("is not taken for a stalled server: holding a chunk past idleTimeoutMs costs no reconnect", async () => {
    const { stream, events } = download(SHARD, {}, { idleTimeoutMs: 1000 });
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream) {
      if (chunks.length === 0) await new Promise((resolve) => setTimeout(resolve, 2500));
      chunks.push(chunk);
    }
    expect(Buffer.compare(Buffer.concat(chunks), hub.content.get(SHARD)!)).toBe(0);
    expect(events).toEqual([]);
  });
});

describe("a file that changes", () => {
  it("is HUB_CHANGED when the Hub serves other content between two attempts of one download", async () => {
    hub.server.setFaults(REPO, SMALL, { cutAt: [20_000] });
    const client = new HubClient({ endpoint: hub.server.endpoint, retryDelayMs: 1 });
    const original = hub.content.get(SMALL)!;
    const stream = client.openFile(REPO, "main", SMALL, { onEvent: () => hub.server.updateFile(REPO, SMALL, original.map((b) => b ^ 1)) });
    try {
      await expect(collect(stream)).rejects.toMatchObject({ code: "HUB_CHANGED", message: expect.stringContaining("the file changed on the Hub during the download") });
    } finally {
      hub.server.updateFile(REPO, SMALL, original);
    }
  });

  it("is HUB_CHANGED when a resume finds another ETag than the earlier run recorded", async () => {
    const { bytes } = download(SHARD, { from: 1000, expected: { etag: "0".repeat(64) } });
    await expect(bytes()).rejects.toMatchObject({ code: "HUB_CHANGED", message: expect.stringContaining(`the bytes before 1000 were downloaded at ETag ${"0".repeat(64)}`) });
  });

  it("is HUB_SIZE when the Hub's size disagrees with the size expected", async () => {
    const { bytes } = download(SHARD, { expected: { size: SIZE - 1 } });
    await expect(bytes()).rejects.toMatchObject({ code: "HUB_SIZE", message: `${REPO}@main ${SHARD}: the Hub reports ${SIZE} bytes, expected ${SIZE - 1}` });
  });
});

describe("stopping", () => {
  it("stops with the signal's reason when aborted mid-file, and closes the connection", async () => {
    hub.server.setFaults(REPO, SHARD, { stallAt: { offset: 2_000_000, ms: 5000 } });
    const controller = new AbortController();
    const client = new HubClient({ endpoint: hub.server.endpoint });
    const stream = client.openFile(REPO, "main", SHARD, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("stopped by the user")), 200);
    await expect(collect(stream)).rejects.toThrow("stopped by the user");
    expect(stream.position).toBeLessThanOrEqual(2_000_000);
  });

  it("never reads as ended after a failure or a close: later reads throw again", async () => {
    hub.server.setFaults(REPO, SMALL, { unavailable: 10 });
    const failing = download(SMALL, {}, { retries: 0 }).stream;
    const target = new Uint8Array(100);
    const error = await failureOf(failing.read(target));
    expect(await failureOf(failing.read(target))).toBe(error);
    const { stream } = download(SHARD);
    for await (const _ of stream) break;
    await expect(stream.read(target)).rejects.toThrow(/^OpenAssistant\/faulty-xor@main pytorch_model-00001-of-00007.bin: the stream was closed at byte \d+; open a new one to go on$/);
  });

  it("close() ends a download half-way; a new stream from that position completes it with only the missing bytes", async () => {
    const client = new HubClient({ endpoint: hub.server.endpoint });
    const first = client.openFile(REPO, "main", SHARD);
    const head = await first.open();
    const part = new Uint8Array(1_500_000);
    expect(await first.read(part)).toBe(part.length);
    await first.close();
    hub.server.clearLog();
    const rest = await collect(client.openFile(REPO, "main", SHARD, { from: part.length, expected: { etag: head.etag, size: head.size } }));
    expect(Buffer.compare(Buffer.concat([part, rest]), hub.content.get(SHARD)!)).toBe(0);
    const resumed = hub.server.requests.filter((r) => r.origin === "cdn" && r.headers.range === `bytes=${part.length}-`);
    expect(resumed.map((r) => r.bodyBytes)).toEqual([SIZE - part.length]);
  });
});
