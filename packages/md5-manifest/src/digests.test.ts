import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CHUNK_BYTES, MultiHasher, hashFile } from "./digests.js";

/** mulberry32: a seeded byte source, so the multi-megabyte fixtures are rebuilt, not committed. */
function seededBytes(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    bytes[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return bytes;
}

/** What the system's coreutils say, e.g. systemDigest("md5sum", path). */
function systemDigest(tool: "md5sum" | "sha256sum", path: string): string {
  const output = execFileSync(tool, ["-b", path], { encoding: "utf8" });
  return output.slice(0, output.indexOf(" "));
}

const SMALL_CHUNK = 64 * 1024;
const FIXTURE_SIZES = {
  "empty": 0,
  "one-byte": 1,
  "one-default-chunk": DEFAULT_CHUNK_BYTES,
  "default-chunk-plus-one": DEFAULT_CHUNK_BYTES + 1,
  "few-megabytes": 3 * 1024 * 1024 + 12_345,
};

let dir: string;
const paths: Record<string, string> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "md5-manifest-digests-"));
  for (const [name, size] of Object.entries(FIXTURE_SIZES)) {
    paths[name] = join(dir, `${name}.bin`);
    await writeFile(paths[name], seededBytes(size + 1, size));
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("hashFile", () => {
  for (const [name, size] of Object.entries(FIXTURE_SIZES)) {
    it(`matches md5sum and sha256sum for a ${size}-byte file (${name})`, async () => {
      const path = paths[name]!;
      const result = await hashFile(path, ["md5", "sha256"]);
      expect(result).toEqual({
        md5: systemDigest("md5sum", path),
        sha256: systemDigest("sha256sum", path),
        bytes: size,
      });
    });
  }

  it("gives the same digests whatever the chunk size, across chunk boundaries", async () => {
    const path = paths["few-megabytes"]!;
    const whole = await hashFile(path, ["md5", "sha256"]);
    for (const chunkBytes of [1000, SMALL_CHUNK, SMALL_CHUNK + 1]) {
      expect(await hashFile(path, ["md5", "sha256"], { chunkBytes })).toEqual(whole);
    }
  });

  it("sets only the requested digests", async () => {
    const path = paths["one-byte"]!;
    expect(await hashFile(path, ["md5"])).toEqual({ md5: systemDigest("md5sum", path), bytes: 1 });
    expect(await hashFile(path, ["sha256"])).toEqual({
      sha256: systemDigest("sha256sum", path),
      bytes: 1,
    });
    expect(await hashFile(path, [])).toEqual({ bytes: 1 });
  });

  it("reports cumulative progress once per chunk, ending at the file size", async () => {
    const size = FIXTURE_SIZES["few-megabytes"];
    const reported: number[] = [];
    await hashFile(paths["few-megabytes"]!, ["md5"], {
      chunkBytes: 1024 * 1024,
      onProgress: (bytesDone) => reported.push(bytesDone),
    });
    expect(reported).toEqual([1, 2, 3].map((mib) => mib * 1024 * 1024).concat(size));
  });

  it("reports no progress for an empty file", async () => {
    const reported: number[] = [];
    const onProgress = (bytesDone: number) => reported.push(bytesDone);
    await hashFile(paths["empty"]!, ["md5"], { onProgress });
    expect(reported).toEqual([]);
  });

  it("rejects with the abort reason, reading nothing, when already aborted", async () => {
    const reason = new Error("user cancelled");
    const reported: number[] = [];
    const result = hashFile(paths["few-megabytes"]!, ["md5"], {
      signal: AbortSignal.abort(reason),
      onProgress: (bytesDone) => reported.push(bytesDone),
    });
    await expect(result).rejects.toBe(reason);
    expect(reported).toEqual([]);
  });

  it("stops within one chunk of an abort during hashing", async () => {
    const controller = new AbortController();
    const reported: number[] = [];
    const result = hashFile(paths["few-megabytes"]!, ["md5"], {
      chunkBytes: SMALL_CHUNK,
      signal: controller.signal,
      onProgress: (bytesDone) => {
        reported.push(bytesDone);
        controller.abort();
      },
    });
    await expect(result).rejects.toMatchObject({ name: "AbortError" });
    expect(reported).toEqual([SMALL_CHUNK]);
  });

  it("rejects a missing file, and a FIFO at once, with an error naming the file", async () => {
    await expect(hashFile(join(dir, "absent.bin"), ["md5"])).rejects.toMatchObject({
      code: "INPUT_MISSING",
      message: `${join(dir, "absent.bin")}: input not found`,
    });
    execFileSync("mkfifo", [join(dir, "pipe.bin")]);
    await expect(hashFile(join(dir, "pipe.bin"), ["md5"])).rejects.toMatchObject({ code: "INPUT_NOT_REGULAR" });
  });

  it("rejects a chunk size that is not a positive integer", async () => {
    for (const chunkBytes of [0, -1, 1.5, Number.NaN]) {
      await expect(hashFile(paths["one-byte"]!, ["md5"], { chunkBytes })).rejects.toThrow(
        RangeError,
      );
    }
  });
});

describe("MultiHasher", () => {
  it("matches the published md5 and sha256 test vectors for empty input and \"abc\"", () => {
    expect(new MultiHasher(["md5", "sha256"]).digest()).toEqual({
      md5: "d41d8cd98f00b204e9800998ecf8427e",
      sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    });
    const abc = new MultiHasher(["md5", "sha256"]);
    abc.update(new TextEncoder().encode("abc"));
    expect(abc.digest()).toEqual({
      md5: "900150983cd24fb0d6963f7d28e17f72",
      sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    });
  });

  it("gives the same digests for input split at arbitrary points as for one update", () => {
    const bytes = seededBytes(7, 100_003);
    const oneShot = new MultiHasher(["md5", "sha256"]);
    oneShot.update(bytes);

    const split = new MultiHasher(["md5", "sha256"]);
    const cuts = [0, 1, 1, 64, 4097, 50_000, 99_999, bytes.length];
    for (let i = 1; i < cuts.length; i++) split.update(bytes.subarray(cuts[i - 1], cuts[i]));

    expect(split.digest()).toEqual(oneShot.digest());
  });

  it("hashes once per algorithm when an algorithm is requested twice", () => {
    const hasher = new MultiHasher(["md5", "md5"]);
    hasher.update(new TextEncoder().encode("abc"));
    expect(hasher.digest()).toEqual({ md5: "900150983cd24fb0d6963f7d28e17f72" });
  });
});
