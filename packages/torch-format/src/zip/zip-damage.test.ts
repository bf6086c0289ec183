import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCheckpoints } from "../test-support/python.js";
import { seededSizes, streamFile } from "../test-support/stream-file.js";
import { readTorchCheckpoint } from "../torch/read-checkpoint.js";
import { matchDataDescriptor } from "./local-header.js";

let dir: string;
beforeAll(async () => {
  dir = await makeCheckpoints("valid");
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const CENTRAL = Buffer.from("PK\x01\x02", "latin1");

/** A copy of a fixture with bytes changed by `edit`, and what reading and streaming it give. */
async function damaged(fixture: string, edit: (bytes: Buffer) => void) {
  const bytes = await readFile(join(dir, `${fixture}.bin`));
  edit(bytes);
  const path = join(dir, `${fixture}-damaged-${Math.random().toString(36).slice(2)}.bin`);
  await writeFile(path, bytes);
  const read = await readTorchCheckpoint(path).then(() => undefined, (error: unknown) => error);
  const streamed = await streamFile(path, `${path}.safetensors`, seededSizes(3, 5000)).then(() => undefined, (error: unknown) => error);
  return { read, streamed };
}

/** Where the central directory entry for `name` starts. */
function centralEntry(bytes: Buffer, name: string): number {
  for (let at = bytes.indexOf(CENTRAL); at >= 0; at = bytes.indexOf(CENTRAL, at + 1)) {
    if (bytes.toString("latin1", at + 46, at + 46 + bytes.readUInt16LE(at + 28)) === name) return at;
  }
  throw new Error(`no entry ${name}`);
}

describe("damaged zips: typed errors from the random-access reader and the stream alike", () => {
  it("a zip64 size beyond 2^53 in the central directory: SIZE_OVERFLOW", async () => {
    const { read, streamed } = await damaged("zip64", (bytes) => {
      const extra = centralEntry(bytes, "llama-mixed/data/0") + 46 + "llama-mixed/data/0".length;
      bytes.writeBigUInt64LE(1n << 60n, extra + 4);
      bytes.writeBigUInt64LE(1n << 60n, extra + 12);
    });
    const overflow = { code: "SIZE_OVERFLOW", message: expect.stringContaining("llama-mixed/data/0: zip64 size is 1152921504606846976, beyond 2^53 bytes") };
    expect(read).toMatchObject(overflow);
    expect(streamed).toMatchObject(overflow);
  });

  it("a data.pkl whose bytes disagree with its CRC-32: ZIP_INVALID", async () => {
    const { read, streamed } = await damaged("llama-mixed", (bytes) => {
      const at = bytes.indexOf("model.embed_tokens.weight");
      bytes[at] = "M".charCodeAt(0);
    });
    const crc = { code: "ZIP_INVALID", message: expect.stringContaining("llama-mixed/data.pkl has CRC-32") };
    expect(read).toMatchObject(crc);
    expect(streamed).toMatchObject(crc);
  });

  it("two records with the same name: ZIP_INVALID", async () => {
    const { read, streamed } = await damaged("llama-mixed", (bytes) => {
      for (let at = bytes.indexOf("llama-mixed/data/3"); at >= 0; at = bytes.indexOf("llama-mixed/data/3", at + 1)) bytes.write("llama-mixed/data/2", at, "latin1");
    });
    expect(read).toMatchObject({ code: "ZIP_INVALID", message: expect.stringContaining("two records named llama-mixed/data/2") });
    expect(streamed).toMatchObject({ code: "ZIP_INVALID", message: expect.stringContaining("two records named llama-mixed/data/2") });
  });

  it("a local header naming another record than the central directory says: ZIP_INVALID", async () => {
    const { read, streamed } = await damaged("llama-mixed", (bytes) => {
      bytes.write("llama-mixed/data/X", bytes.indexOf("llama-mixed/data/3"), "latin1");
    });
    expect(read).toMatchObject({ code: "ZIP_INVALID", message: expect.stringContaining("the local header there names llama-mixed/data/X") });
    // Streamed, data/3 never arrives, so the directory's entry for it matches nothing.
    expect(streamed).toMatchObject({ code: "ZIP_INVALID", message: expect.stringContaining("lists llama-mixed/data/3") });
  });

  it("a data descriptor whose sizes disagree with the storage: ZIP_INVALID when streamed (the reader trusts the directory)", async () => {
    const { streamed } = await damaged("llama-mixed", (bytes) => {
      const descriptor = bytes.indexOf("PK\x07\x08", bytes.indexOf("llama-mixed/data/5"), "latin1");
      bytes.writeUInt32LE(bytes.readUInt32LE(descriptor + 8) + 2, descriptor + 8);
    });
    expect(streamed).toMatchObject({ code: "ZIP_INVALID", message: expect.stringContaining("no data descriptor after the") });
  });

  it("an end record that counts entries the directory lacks: ZIP_INVALID", async () => {
    // torch.save (miniz) ends every archive with zip64 end records, even a small one: they count.
    const { read } = await damaged("llama-mixed", (bytes) => {
      const zip64End = bytes.lastIndexOf("PK\x06\x06", undefined, "latin1");
      bytes.writeBigUInt64LE(bytes.readBigUInt64LE(zip64End + 32) + 1n, zip64End + 32);
    });
    expect(read).toMatchObject({ code: "ZIP_INVALID", message: expect.stringMatching(/holds \d+ whole entries, but the end record counts \d+/) });
  });
});

describe("matchDataDescriptor", () => {
  const descriptor = (crc: number, size: number, wide: boolean, next = "PK\x03\x04") => {
    const bytes = Buffer.alloc(wide ? 24 : 16);
    bytes.write("PK\x07\x08", 0, "latin1");
    bytes.writeUInt32LE(crc, 4);
    if (wide) {
      bytes.writeBigUInt64LE(BigInt(size), 8);
      bytes.writeBigUInt64LE(BigInt(size), 16);
    } else {
      bytes.writeUInt32LE(size, 8);
      bytes.writeUInt32LE(size, 12);
    }
    return Buffer.concat([bytes, Buffer.from(`${next}\0\0\0\0\0\0\0\0`, "latin1")]);
  };

  it("tells the 16-byte form from the zip64 24-byte form by the sizes", () => {
    expect(matchDataDescriptor(descriptor(7, 300, false), 300)).toEqual({ bytes: 16, crc32: 7 });
    expect(matchDataDescriptor(descriptor(7, 300, true), 300)).toEqual({ bytes: 24, crc32: 7 });
    expect(matchDataDescriptor(descriptor(7, 301, true), 300)).toBe("mismatch");
    expect(matchDataDescriptor(descriptor(7, 300, true).subarray(0, 20), 300)).toBe("short");
  });

  it("for an empty record, where both forms hold, takes the one the next signature follows", () => {
    expect(matchDataDescriptor(descriptor(0, 0, false), 0)).toEqual({ bytes: 16, crc32: 0 });
    expect(matchDataDescriptor(descriptor(0, 0, true), 0)).toEqual({ bytes: 24, crc32: 0 });
  });
});
