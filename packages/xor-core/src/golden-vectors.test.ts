import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENC_HEADER_BYTES, KEY_CHUNK_BYTES, KeyFile, Keystream, RewindingKey, xorshift32Bytes } from "./index.js";

interface GoldenCase {
  name: string;
  key: { seed: number; length: number };
  plain: { seed: number; length: number; fileName: string; sha256: string; md5: string };
  enc: { fileName: string; length: number; sha256: string; md5: string };
}

const vectorsPath = new URL("../../../fixtures/vectors/xor-release.json", import.meta.url);
const { cases } = JSON.parse(await readFile(vectorsPath, "utf8")) as { cases: GoldenCase[] };
const hex = (algorithm: string, bytes: Uint8Array) => createHash(algorithm).update(bytes).digest("hex");

/** Feed the keystream in pieces of `pieceBytes`, so chunk boundaries fall inside pieces too. */
async function applyInPieces(key: KeyFile, payload: Uint8Array, pieceBytes: number): Promise<void> {
  const keystream = new Keystream(new RewindingKey(key));
  for (let offset = 0; offset < payload.length; offset += pieceBytes) {
    await keystream.apply(payload.subarray(offset, offset + pieceBytes), offset);
  }
}

describe("the keystream reproduces the published scripts' golden vectors (spec §1)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "xor-core-golden-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  // The vectors are shared with the rest of the company in shared/vectors; the repository keeps a copy
  // so that a clone alone can run the tests. Where shared/ sits beside the checkout (CI), they agree.
  const shared = new URL("../../../../shared/vectors/xor-release.json", import.meta.url);
  it.runIf(existsSync(shared))("uses the same vectors as shared/vectors/xor-release.json", async () => {
    expect(await readFile(vectorsPath, "utf8")).toBe(await readFile(shared, "utf8"));
  });

  it("holds the seven published cases", () => {
    expect(cases.map((c) => c.name)).toEqual([
      "short-last-key-chunk-wraps",
      "key-multiple-of-chunk",
      "tiny-key",
      "key-one-byte-over-chunk",
      "empty-plaintext",
      "small-config-file",
      "plain-shorter-than-key-chunk",
    ]);
  });

  for (const golden of cases) {
    for (const pieceBytes of [KEY_CHUNK_BYTES, 3 * 1024 * 1024 + 7]) {
      it(`${golden.name}: encrypts and decrypts byte for byte (pieces of ${pieceBytes} bytes)`, async () => {
        const keyPath = join(dir, `${golden.name}.key`);
        await writeFile(keyPath, xorshift32Bytes(golden.key.seed, golden.key.length));
        const key = await KeyFile.open(keyPath);
        try {
          const plain = xorshift32Bytes(golden.plain.seed, golden.plain.length);
          expect(hex("sha256", plain)).toBe(golden.plain.sha256);
          expect(hex("md5", plain)).toBe(golden.plain.md5);

          const enc = new Uint8Array(ENC_HEADER_BYTES + plain.length);
          enc.set(createHash("sha256").update(plain).digest(), 0);
          enc.set(plain, ENC_HEADER_BYTES);
          await applyInPieces(key, enc.subarray(ENC_HEADER_BYTES), pieceBytes);
          expect(enc.length).toBe(golden.enc.length);
          expect(hex("sha256", enc)).toBe(golden.enc.sha256);
          expect(hex("md5", enc)).toBe(golden.enc.md5);

          const recovered = enc.subarray(ENC_HEADER_BYTES);
          await applyInPieces(key, recovered, pieceBytes);
          expect(hex("sha256", recovered)).toBe(golden.plain.sha256);
          expect(Buffer.from(enc.subarray(0, ENC_HEADER_BYTES)).toString("hex")).toBe(golden.plain.sha256);
        } finally {
          await key.close();
        }
      });
    }
  }
});
