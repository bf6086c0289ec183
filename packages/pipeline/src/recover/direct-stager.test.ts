import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DirectStager } from "./direct-stager.js";
import { TempOutput } from "./temp-output.js";

/** A file cut into runs at random lengths, each pushed front to back in chunks, the runs shuffled. */
function scatteredRuns(fileBytes: number, seed: number): { position: number; bytes: number }[] {
  let state = seed;
  const next = (n: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
  const runs: { position: number; bytes: number }[] = [];
  for (let at = 0; at < fileBytes; ) {
    const bytes = Math.min(fileBytes - at, 1 + next(3 * 1024 * 1024));
    runs.push({ position: at, bytes });
    at += bytes;
  }
  for (let i = runs.length - 1; i > 0; i--) {
    const j = next(i + 1);
    [runs[i], runs[j]] = [runs[j]!, runs[i]!];
  }
  return runs;
}

describe("DirectStager: runs of positional writes gathered into page-aligned direct writes", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "stager-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("writes every byte where it belongs, whatever the order of the runs and the cut of the chunks", async () => {
    const expected = randomBytes(23 * 1024 * 1024 + 1234);
    const path = join(dir, "out.part");
    const temp = await TempOutput.create(path, join(dir, "out"), { direct: true });
    const stager = new DirectStager((bytes, position) => temp.write(bytes, position));
    for (const run of scatteredRuns(expected.length, 7)) {
      for (let at = 0; at < run.bytes; ) {
        const chunk = Math.min(run.bytes - at, 100_000 + (at % 777_777));
        await stager.push(expected.subarray(run.position + at, run.position + at + chunk), run.position + at);
        at += chunk;
      }
    }
    await stager.flush();
    await temp.publish(expected.length);
    expect(Buffer.compare(await readFile(join(dir, "out")), expected)).toBe(0);
  });

  it("hands every whole page to the writer aligned in the file and in memory, and only heads and tails unaligned", async () => {
    const writes: { position: number; bytes: number; address: number }[] = [];
    const stager = new DirectStager(async (bytes, position) => {
      writes.push({ position, bytes: bytes.length, address: bytes.byteOffset });
    });
    const data = randomBytes(10 * 1024 * 1024);
    await stager.push(data.subarray(0, 5_000_000), 1000);
    await stager.push(data.subarray(5_000_000), 5_001_000);
    await stager.push(data.subarray(0, 100), 20_000_000);
    await stager.flush();
    const big = writes.filter((w) => w.bytes >= 4096);
    expect(big.every((w) => w.position % 4096 === 0 && w.address % 4096 === 0)).toBe(true);
    expect(writes.reduce((sum, w) => sum + w.bytes, 0)).toBe(data.length + 100);
    expect(writes.filter((w) => w.position % 4096 !== 0)).toEqual([
      { position: 1000, bytes: 3096, address: 0 },
      { position: 20_000_000, bytes: 100, address: 0 },
    ]);
  });
});
