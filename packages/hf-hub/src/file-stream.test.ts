import { createHash } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ContentDigest } from "./content-digest.js";
import { HubClient } from "./hub-client.js";
import { collect, startSeededHub, type SeededHub } from "./test-support/seeded-repo.js";

const REPO = "BelleGroup/BELLE-test-enc";
const FILES = {
  "config.json.enc": 700,
  "empty.txt": 0,
  "pytorch_model-00001-of-00002.bin.enc": 3 * 1024 * 1024 + 12_345,
  "sub/folder/tokenizer.model.enc": 500_000,
};
const SHARD = "pytorch_model-00001-of-00002.bin.enc";

let hub: SeededHub;
let client: HubClient;

beforeAll(async () => {
  hub = await startSeededHub(REPO, FILES);
  client = new HubClient({ endpoint: hub.server.endpoint, retryDelayMs: 1 });
});
afterAll(() => hub.close());
beforeEach(() => hub.server.clearLog());

/** File bytes the server sent in answer to the requests of this test (a closed stream of an earlier test may still be draining). */
const bodyBytes = () => hub.server.requests.reduce((sum, r) => sum + r.bodyBytes, 0);
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("downloading a file", () => {
  for (const path of Object.keys(FILES)) {
    it(`hands out exactly the bytes of ${path}, each once`, async () => {
      const stream = client.openFile(REPO, "main", path);
      const bytes = await collect(stream);
      expect(Buffer.compare(bytes, hub.content.get(path)!)).toBe(0);
      expect(stream.position).toBe(bytes.length);
      expect(stream.bytesReceived).toBe(bytes.length);
      expect(bodyBytes()).toBe(bytes.length);
    });
  }

  it("follows an LFS file's redirect to the CDN and reports the X-Linked-Etag sha256, size and commit", async () => {
    const stream = client.openFile(REPO, "main", SHARD);
    const head = await stream.open();
    await stream.close();
    expect(head).toEqual({ size: FILES[SHARD], etag: sha256(hub.content.get(SHARD)!), sha256: sha256(hub.content.get(SHARD)!), commit: hub.server.commit(REPO) });
    expect(hub.server.requests.map((r) => [r.origin, r.status])).toEqual([
      ["hub", 302],
      ["cdn", 200],
    ]);
  });

  it("serves a small file from the endpoint itself, its ETag being the git blob id", async () => {
    const stream = client.openFile(REPO, "main", "config.json.enc");
    const head = await stream.open();
    await stream.close();
    expect(head.sha256).toBeUndefined();
    expect(head.etag).toMatch(/^[0-9a-f]{40}$/);
    expect(hub.server.requests.map((r) => r.origin)).toEqual(["hub"]);
  });

  it("reads at a commit as well as at a branch", async () => {
    const bytes = await collect(client.openFile(REPO, hub.server.commit(REPO), "config.json.enc"));
    expect(Buffer.compare(bytes, hub.content.get("config.json.enc")!)).toBe(0);
  });
});

describe("resuming from an offset", () => {
  it("asks for Range: bytes=N- and downloads only the missing bytes", async () => {
    const from = 1_234_567;
    const stream = client.openFile(REPO, "main", SHARD, { from, expected: { size: FILES[SHARD] } });
    const bytes = await collect(stream);
    expect(Buffer.compare(bytes, hub.content.get(SHARD)!.subarray(from))).toBe(0);
    expect(bodyBytes()).toBe(FILES[SHARD] - from);
    const cdn = hub.server.requests.find((r) => r.origin === "cdn")!;
    expect(cdn.headers.range).toBe(`bytes=${from}-`);
    expect(cdn.status).toBe(206);
  });

  it("requests nothing but the head when the offset is the end of the file", async () => {
    const size = FILES[SHARD];
    const bytes = await collect(client.openFile(REPO, "main", SHARD, { from: size }));
    expect(bytes.length).toBe(0);
    expect(bodyBytes()).toBe(0);
  });

  it("verifies end to end when handed the digest of the bytes before the offset", async () => {
    const whole = hub.content.get(SHARD)!;
    const from = 2_000_000;
    const digest = new ContentDigest({ kind: "sha256", hex: sha256(whole) });
    digest.update(whole.subarray(0, from));
    const bytes = await collect(client.openFile(REPO, "main", SHARD, { from, verify: digest }));
    expect(bytes.length).toBe(whole.length - from);
  });

  it("refuses an offset past the end of the file (HUB_SIZE)", async () => {
    const stream = client.openFile(REPO, "main", "config.json.enc", { from: 701 });
    await expect(collect(stream)).rejects.toMatchObject({ code: "HUB_SIZE", message: `${REPO}@main config.json.enc: cannot resume at byte 701: the file is 700 bytes` });
  });
});

describe("reading into a caller's buffer", () => {
  it("counts in `position` only the bytes read, not those received and held", async () => {
    const stream = client.openFile(REPO, "main", SHARD, { from: 10 });
    await stream.open();
    expect(stream.position).toBe(10);
    await stream.read(new Uint8Array(1000));
    expect(stream.position).toBe(1010);
    expect(stream.bytesReceived).toBeGreaterThan(1000);
    await stream.close();
    expect(stream.position).toBe(1010);
  });

  it("fills each target completely across chunk boundaries, and short only at the end", async () => {
    const whole = hub.content.get(SHARD)!;
    const stream = client.openFile(REPO, "main", SHARD);
    const target = new Uint8Array(1_000_003);
    const pieces: Buffer[] = [];
    for (;;) {
      const count = await stream.read(target);
      pieces.push(Buffer.from(target.subarray(0, count)));
      if (count < target.length) break;
    }
    expect(pieces.slice(0, -1).every((p) => p.length === target.length)).toBe(true);
    expect(stream.position).toBe(whole.length);
    expect(Buffer.compare(Buffer.concat(pieces), whole)).toBe(0);
  });
});

describe("verify: true", () => {
  for (const path of Object.keys(FILES)) {
    it(`checks ${path} against the sha256 or git blob id the Hub reports`, async () => {
      const bytes = await collect(client.openFile(REPO, "main", path, { verify: true }));
      expect(bytes.length).toBe(FILES[path as keyof typeof FILES]);
    });
  }
});
