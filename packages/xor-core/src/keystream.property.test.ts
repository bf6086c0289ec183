import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEY_CHUNK_BYTES, KeyFile, Keystream, RewindingKey, keyOffsetForPayloadOffset, xorshift32Bytes } from "./index.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "keystream-property-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("the spec §1 keystream, for any key length, chunk boundary and file size", () => {
  it("decrypt ∘ encrypt is the identity, fed in any pieces", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: KEY_CHUNK_BYTES - 3, max: KEY_CHUNK_BYTES + 3 }), fc.integer({ min: 2 * KEY_CHUNK_BYTES - 2, max: 2 * KEY_CHUNK_BYTES + 2 })),
        fc.integer({ min: 0, max: 3 * KEY_CHUNK_BYTES }),
        fc.integer({ min: 0, max: 300_000 }),
        fc.integer({ min: 1, max: 70_000 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        async (keyLength, start, length, piece, seed) => {
          const keyPath = join(dir, `key-${keyLength}-${seed}`);
          await writeFile(keyPath, xorshift32Bytes(seed, keyLength));
          const key = await KeyFile.open(keyPath);
          try {
            const plain = xorshift32Bytes(seed + 1, length);
            const data = plain.slice();
            const encrypt = new Keystream(new RewindingKey(key));
            for (let at = 0; at < length; at += piece) await encrypt.apply(data.subarray(at, at + piece), start + at);
            if (length > 0 && data.length > 0) {
              const probe = Math.floor(length / 2);
              const keyBytes = xorshift32Bytes(seed, keyLength);
              expect(data[probe]! ^ plain[probe]!).toBe(keyBytes[keyOffsetForPayloadOffset(keyLength, start + probe)]);
            }
            await new Keystream(new RewindingKey(key)).apply(data, start);
            expect(Buffer.compare(data, plain)).toBe(0);
          } finally {
            await key.close();
            await rm(keyPath, { force: true });
          }
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});
