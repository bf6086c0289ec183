import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HubClient } from "@model-recover/hf-hub";
import { type HubServer, startHubServer } from "@model-recover/hf-hub/test-server";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { InputError } from "../errors.js";
import { type HubPayload, HubTransferError, openHubRelease } from "../hub/hub-release.js";
import { hashPayload, openPayload } from "./payload-source.js";
import type { FileTask } from "./plan.js";

const REPO = "tests/payloads";
const HEADER = createHash("sha256").update("the plaintext").digest();
const BODY = xorshift32Bytes(5, 3_000_000);
const FILE = `model.bin.${HEADER.toString("hex")}.enc`;

function taskFor(payload: HubPayload | undefined, source: string, sha256 = HEADER.toString("hex")): FileTask {
  return { kind: "decrypt", entry: { name: "model.bin", md5: null }, source, sourceName: FILE, headerBytes: 32, sha256, outputBytes: BODY.length, ...(payload ? { remote: payload } : {}) };
}

describe("payloads read from the Hub (a test Hub on 127.0.0.1) or from the release folder", () => {
  let dir: string;
  let server: HubServer;
  let payload: HubPayload;
  let hub: HubClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-payload-"));
    await mkdir(join(dir, "repo", "nested"), { recursive: true });
    await writeFile(join(dir, "repo", FILE), Buffer.concat([HEADER, BODY]));
    await writeFile(join(dir, "repo", "nested", "config.json"), "{}\n");
    server = await startHubServer({ repos: { [REPO]: { dir: join(dir, "repo") } }, lfsMinBytes: 1 << 20 });
    hub = new HubClient({ endpoint: server.endpoint, retryDelayMs: 1 });
    payload = (await openHubRelease(hub, { repo: REPO })).files.get(FILE)!;
  });
  afterEach(() => {
    server.setFaults(REPO, FILE, {});
    server.clearLog();
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("lists the release's folder only, by names without the folder", async () => {
    expect([...(await openHubRelease(hub, { repo: REPO })).files.keys()]).toEqual([FILE]);
    const nested = await openHubRelease(hub, { repo: REPO, folder: "nested" });
    expect([...nested.files.keys()]).toEqual(["config.json"]);
    expect(nested.files.get("config.json")!.checkedBy).toBe("the Hub's git blob id");
    expect(payload.checkedBy).toBe("the Hub's LFS sha256");
  });

  it("reads the payload in order from byte 0, checking the header on the way, with no Range request", async () => {
    const reader = await openPayload(taskFor(payload, payload.where));
    const view = new Uint8Array(BODY.length);
    await reader.read(view.subarray(0, 1000), 32);
    await reader.read(view.subarray(1000), 32 + 1000);
    await reader.close();
    expect(Buffer.from(view).equals(Buffer.from(BODY))).toBe(true);
    expect(server.requests.filter((r) => r.origin === "cdn").map((r) => r.headers.range)).toEqual([undefined]);
  });

  it("continues a resumed file with one Range request from its offset", async () => {
    const reader = await openPayload(taskFor(payload, payload.where));
    const view = new Uint8Array(1000);
    await reader.read(view, 32 + 2_000_000);
    await reader.close();
    expect(Buffer.from(view).equals(Buffer.from(BODY.subarray(2_000_000, 2_001_000)))).toBe(true);
    expect(server.requests.filter((r) => r.origin === "cdn").map((r) => r.headers.range)).toEqual([`bytes=${32 + 2_000_000}-`]);
  });

  it("refuses a read behind what was read (a remote payload is never seeked back)", async () => {
    const reader = await openPayload(taskFor(payload, payload.where));
    await reader.read(new Uint8Array(100), 32);
    await expect(reader.read(new Uint8Array(10), 40)).rejects.toThrow(/read at 40 after 132 bytes were read/);
    await reader.close();
  });

  it("blames the release when the header is not the sha256 the name says (spec §1)", async () => {
    const reader = await openPayload(taskFor(payload, payload.where, "ab".repeat(32)));
    const failure = await reader.read(new Uint8Array(10), 32).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InputError);
    expect((failure as InputError).code).toBe("ENC_CORRUPT");
    expect((failure as Error).message).toMatch(/header holds sha256 [0-9a-f]{64} but the name says (ab){32}; the release on the Hub/);
    await reader.close();
  });

  it("a byte flipped on the wire fails the last read as the transfer's fault (the Hub's sha256), never the end of the file", async () => {
    server.setFaults(REPO, FILE, { flipByteAt: 1_234_567 });
    const reader = await openPayload(taskFor(payload, payload.where));
    const view = new Uint8Array(BODY.length);
    const failure = await reader.read(view, 32).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(HubTransferError);
    expect((failure as HubTransferError).hub.code).toBe("HUB_DIGEST");
    expect((failure as Error).message).toMatch(/the transfer is at fault, not the release/);
    await reader.close();
  });

  it("hashes a remote payload as published, header included, as md5sum would the file", async () => {
    const { md5 } = await hashPayload(taskFor(payload, payload.where), ["md5"]);
    expect(md5).toBe(createHash("md5").update(Buffer.concat([HEADER, BODY])).digest("hex"));
  });

  it("a local payload that shrinks while it is read is a short download (ENC_SIZE)", async () => {
    const local = join(dir, "local.enc");
    await writeFile(local, Buffer.concat([HEADER, BODY]));
    const reader = await openPayload(taskFor(undefined, local));
    await truncate(local, 1000);
    await expect(reader.read(new Uint8Array(2000), 32)).rejects.toThrow(/local\.enc: shrank while being read \(at 1000 of 3000032 bytes\)/);
    await reader.close();
  });
});
