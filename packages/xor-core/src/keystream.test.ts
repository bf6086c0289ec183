import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEY_CHUNK_BYTES, KeyError, KeyFile, keyOffsetForPayloadOffset, keySpanForPayloadChunk, Keystream, RewindingKey, xorInto, xorshift32Bytes } from "./index.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "xor-core-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("keySpanForPayloadChunk (spec §1 closed form)", () => {
  it("uses the short last key chunk for the chunk before the key wraps, then rewinds to offset 0", () => {
    const keySize = 2 * KEY_CHUNK_BYTES + 12_345;
    expect(keySpanForPayloadChunk(keySize, 2)).toEqual({ index: 2, offset: 2 * KEY_CHUNK_BYTES, length: 12_345 });
    expect(keySpanForPayloadChunk(keySize, 3)).toEqual({ index: 0, offset: 0, length: KEY_CHUNK_BYTES });
  });

  it("repeats a short last key chunk inside one data chunk, so the keystream is not key[x mod K]", () => {
    const keySize = KEY_CHUNK_BYTES + 1000;
    const x = KEY_CHUNK_BYTES + 1500;
    expect(keyOffsetForPayloadOffset(keySize, x)).toBe(KEY_CHUNK_BYTES + 500);
    expect(x % keySize).not.toBe(KEY_CHUNK_BYTES + 500);
  });

  it("restarts a key shorter than a chunk at every chunk boundary", () => {
    expect(keyOffsetForPayloadOffset(1000, KEY_CHUNK_BYTES - 1)).toBe((KEY_CHUNK_BYTES - 1) % 1000);
    expect(keyOffsetForPayloadOffset(1000, KEY_CHUNK_BYTES)).toBe(0);
  });
});

describe("Keystream", () => {
  it("agrees with the closed form byte by byte across a wrap, for odd piece sizes and offsets", async () => {
    const keyBytes = xorshift32Bytes(42, KEY_CHUNK_BYTES + 777);
    const keyPath = join(dir, "odd.key");
    await writeFile(keyPath, keyBytes);
    const key = await KeyFile.open(keyPath);
    const start = 2 * KEY_CHUNK_BYTES - 5000;
    const data = new Uint8Array(KEY_CHUNK_BYTES + 9000);
    const keystream = new Keystream(new RewindingKey(key));
    for (let at = 0; at < data.length; at += 65_537) {
      await keystream.apply(data.subarray(at, at + 65_537), start + at);
    }
    await key.close();
    for (let i = 0; i < data.length; i += 997) {
      expect(data[i]).toBe(keyBytes[keyOffsetForPayloadOffset(keyBytes.length, start + i)]);
    }
  });

  it("is its own inverse (encrypt and decrypt are the same operation)", async () => {
    const keyPath = join(dir, "inverse.key");
    await writeFile(keyPath, xorshift32Bytes(7, 3333));
    const key = await KeyFile.open(keyPath);
    const plain = xorshift32Bytes(8, 100_003);
    const data = plain.slice();
    await new Keystream(new RewindingKey(key)).apply(data, 0);
    expect(Buffer.compare(data, plain)).not.toBe(0);
    await new Keystream(new RewindingKey(key)).apply(data, 0);
    await key.close();
    expect(Buffer.compare(data, plain)).toBe(0);
  });
});

describe("KeyFile", () => {
  it("refuses an empty key file with KEY_EMPTY instead of crashing (spec §1)", async () => {
    const keyPath = join(dir, "empty.pth");
    await writeFile(keyPath, "");
    await expect(KeyFile.open(keyPath)).rejects.toMatchObject({ code: "KEY_EMPTY", path: keyPath });
    await expect(KeyFile.open(keyPath)).rejects.toThrow(/empty \(0 bytes\)/);
  });

  it("names a missing key file and a folder given as key", async () => {
    await expect(KeyFile.open(join(dir, "nope.pth"))).rejects.toMatchObject({ code: "KEY_MISSING" });
    await expect(KeyFile.open(dir)).rejects.toBeInstanceOf(KeyError);
  });

  it("notices a key that shrinks while in use", async () => {
    const keyPath = join(dir, "shrinks.pth");
    await writeFile(keyPath, xorshift32Bytes(3, 5000));
    const key = await KeyFile.open(keyPath);
    await truncate(keyPath, 100);
    await expect(new Keystream(new RewindingKey(key)).apply(new Uint8Array(10), 0)).rejects.toMatchObject({ code: "KEY_CHANGED" });
    await key.close();
  });
});

describe("xorInto", () => {
  it("XORs unaligned views the same as aligned ones", () => {
    const key = xorshift32Bytes(1, 5000);
    const backing = xorshift32Bytes(2, 5000);
    const expected = backing.slice(3, 4003);
    for (let i = 0; i < expected.length; i++) expected[i]! ^= key[i + 17]!;
    const view = backing.slice().subarray(3, 4003);
    xorInto(view, key.subarray(17));
    expect(Buffer.compare(view, expected)).toBe(0);
  });
});
