import { existsSync } from "node:fs";
import { lstat, mkdtemp, open, readdir, readFile, rename, rm, stat, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startModelRecover, system, type CliRun } from "../support/cli.js";
import { packSmallRelease, type SmallRelease } from "../support/small-release.js";

const SHARD = "pytorch_model.bin";
const SHARD_BYTES = 64_000_000;
/** A resume point after every 10 MiB chunk, so that a run stopped anywhere has one. */
const env = { MODEL_RECOVER_CHECKPOINT_MB: "10" };

async function until(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The shard's output being written, wherever the tool keeps it inside --out: the biggest file that is
 * no final name and no state record (a `.json`, a lock). Found by what it is, not by a layout.
 */
async function temporaryOutput(out: string): Promise<string | undefined> {
  const entries = await readdir(out, { recursive: true, withFileTypes: true }).catch(() => []);
  const candidates = entries.filter((e) => !e.isDirectory() && (relative(out, e.parentPath) !== "" || e.name.startsWith(".")) && !/\.json$|\.tmp$|^lock/.test(e.name));
  const sized = await Promise.all(candidates.map(async (e) => ({ path: join(e.parentPath, e.name), size: (await lstat(join(e.parentPath, e.name)).catch(() => undefined))?.size ?? -1 })));
  return sized.sort((a, b) => b.size - a.size)[0]?.path;
}

/** Whether a run has saved a resume record: it is then past its first durable point. */
const hasRecord = async (out: string) => (await readdir(join(out, ".model-recover", "partial")).catch(() => [])).some((n) => n.endsWith(".json"));

describe("what is published is what was written and hashed, whatever another program does to the temporary file (issue 10, point 2)", () => {
  let dir: string;
  let release: SmallRelease;
  let expectedMd5: string;
  const args = (out: string) => ["recover", release.recipePath, "--base", release.basePath, "--enc", release.encDir, "--out", out];
  const md5 = async (path: string) => (await system("md5sum", [path], dir)).stdout.slice(0, 32);
  const lastLine = (run: CliRun) => run.stderr.trim().split("\n").at(-1)!;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-publish-"));
    release = await packSmallRelease(join(dir, "release"), { "config.json": '{"model_type": "llama"}\n', [SHARD]: SHARD_BYTES }, { baseBytes: 12_000_000 });
    expectedMd5 = await md5(join(release.modelDir, SHARD));
    await writeFile(join(dir, "victim"), "root:x:0:0:root:/root:/bin/bash\n");
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Run into `out`, freeze the run once its temporary output is there, let `tamper` at it, and let the run finish. */
  async function tamperMidRun(out: string, tamper: (temp: string) => Promise<void>): Promise<CliRun> {
    const run = startModelRecover(args(out), { env });
    let temp: string | undefined;
    await until(async () => {
      temp = await temporaryOutput(out);
      // Past the small config.json: the shard is being written.
      return temp !== undefined && ((await stat(temp).catch(() => undefined))?.size ?? 0) > 1_000_000;
    });
    run.child.kill("SIGSTOP");
    try {
      await tamper(temp!);
    } finally {
      run.child.kill("SIGCONT");
    }
    return run.done;
  }

  /** Run into `out` and SIGKILL it once it has recorded a durable point; the temporary output it left. */
  async function killAfterFirstRecord(out: string): Promise<string> {
    const run = startModelRecover(args(out), { env });
    await until(() => hasRecord(out));
    run.child.kill("SIGKILL");
    await run.done;
    return (await temporaryOutput(out))!;
  }

  /** Write `bytes` into `path` at `position`, in place, as Python's open(..., "r+b") does. */
  async function writeInPlace(path: string, bytes: Uint8Array, position: number): Promise<void> {
    const handle = await open(path, "r+");
    await handle.write(bytes, 0, bytes.length, position);
    await handle.close();
  }

  /** Each tampered run publishes nothing under the final name, says so in one line, and the next run recovers the file. */
  async function expectNothingPublished(out: string, run: CliRun, why: RegExp): Promise<void> {
    expect(run.code, run.stderr).toBe(5);
    expect(lastLine(run)).toMatch(/^model-recover: 1 of 2 files did not verify: pytorch_model\.bin; see the lines above for why and what to do$/);
    expect(run.stderr).toMatch(why);
    expect(await lstat(join(out, SHARD)).catch(() => undefined)).toBeUndefined();
    expect(await readFile(join(dir, "victim"), "utf8")).toBe("root:x:0:0:root:/root:/bin/bash\n");
    const again = await startModelRecover(args(out), { env }).done;
    expect(again.code, again.stderr).toBe(0);
    expect(await md5(join(out, SHARD))).toBe(expectedMd5);
  }

  it("refuses to publish a temporary file swapped for a symlink (to a file outside) during the run", async () => {
    const out = join(dir, "out-symlink");
    const run = await tamperMidRun(out, async (temp) => {
      await rename(temp, join(dir, "moved-away"));
      await symlink(join(dir, "victim"), temp);
    });
    await expectNothingPublished(out, run, /was replaced by another file or a link while being written; nothing was published/);
  }, 120_000);

  it("refuses to publish a temporary file swapped for another file of the right size", async () => {
    const out = join(dir, "out-swapped");
    const run = await tamperMidRun(out, async (temp) => {
      await rm(temp);
      await writeFile(temp, Buffer.alloc(SHARD_BYTES, 0x41));
    });
    await expectNothingPublished(out, run, /was replaced by another file or a link while being written; nothing was published/);
  }, 120_000);

  it("refuses to publish a temporary file another program extended past the expected size", async () => {
    const out = join(dir, "out-extended");
    const run = await tamperMidRun(out, (temp) => writeInPlace(temp, Buffer.from("tail"), SHARD_BYTES + 1000));
    await expectNothingPublished(out, run, new RegExp(`changed by another program while being written \\(${SHARD_BYTES + 1004} bytes, expected ${SHARD_BYTES}\\); nothing was published`));
  }, 120_000);

  it("cuts a killed run's temporary file back to its durable point when another program extended it, and publishes the right length", async () => {
    const out = join(dir, "out-resumed-long");
    // Written past the end, as the issue reproduced it.
    await writeInPlace(await killAfterFirstRecord(out), Buffer.alloc(5_000_000, 0x42), SHARD_BYTES);
    const again = await startModelRecover(args(out), { env }).done;
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming pytorch_model\.bin from/);
    expect((await stat(join(out, SHARD))).size).toBe(SHARD_BYTES);
    expect(await md5(join(out, SHARD))).toBe(expectedMd5);
  }, 120_000);

  it("publishes nothing from a killed run whose durable part was changed before the resume, and says what to do", async () => {
    const out = join(dir, "out-resumed-edited");
    await writeInPlace(await killAfterFirstRecord(out), Buffer.from([1, 2, 3, 4]), 1000);
    const again = await startModelRecover(args(out), { env }).done;
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/resuming pytorch_model\.bin from/);
    expect(again.stderr).toMatch(/pytorch_model\.bin did not verify .*it continued from \d+ bytes an earlier run left in .*\.model-recover; if those were changed since, run again: it starts over/);
    expect(existsSync(join(out, SHARD))).toBe(false);
    const third = await startModelRecover(args(out), { env }).done;
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).not.toMatch(/resuming/);
    expect(await md5(join(out, SHARD))).toBe(expectedMd5);
  }, 120_000);

  it("starts over from a resume record that lies: past the file's end, past the output's size, off a chunk boundary, or for another name", async () => {
    const lies: [string, (record: { name: string; durableBytes: number }, size: number) => void][] = [
      ["past the end of the temporary file", (r, size) => (r.durableBytes = size + 10 * 1024 * 1024)],
      ["past the output's size", (r) => (r.durableBytes = 2 ** 40)],
      ["off a chunk boundary", (r) => (r.durableBytes = 10 * 1024 * 1024 + 12345)],
      ["for another name", (r) => (r.name = "config.json")],
    ];
    for (const [what, lie] of lies) {
      const out = join(dir, `out-lie-${what.split(" ").at(-1)}`);
      const temp = await killAfterFirstRecord(out);
      const partial = join(out, ".model-recover", "partial");
      const recordFile = join(partial, (await readdir(partial)).find((n) => n.endsWith(".json"))!);
      const record = JSON.parse(await readFile(recordFile, "utf8"));
      lie(record, (await stat(temp)).size);
      await writeFile(recordFile, JSON.stringify(record));
      const again = await startModelRecover(args(out), { env }).done;
      expect(again.code, `${what}: ${again.stderr}`).toBe(0);
      expect(again.stderr, what).not.toMatch(/resuming/);
      expect(await md5(join(out, SHARD)), what).toBe(expectedMd5);
    }
  }, 180_000);

  it("never reuses an output whose receipt was edited to vouch for a shorter or longer file (sizes are checked against the release)", async () => {
    const out = join(dir, "out-receipt");
    expect((await startModelRecover(args(out), { env }).done).code).toBe(0);
    for (const change of [() => truncate(join(out, SHARD), 1_000_000), () => writeFile(join(out, SHARD), "more", { flag: "a" })]) {
      await change();
      const info = await stat(join(out, SHARD));
      const receiptsFile = join(out, ".model-recover", "receipts.json");
      const receipts = JSON.parse(await readFile(receiptsFile, "utf8"));
      // Whatever the layout of a receipt, every field that identifies the file now says the changed one.
      const lie = (value: Record<string, unknown>) => {
        for (const key of ["size", "ino", "dev", "mtimeMs", "ctimeMs"]) if (key in value) value[key] = info[key as keyof typeof info];
        for (const inner of Object.values(value)) if (inner && typeof inner === "object") lie(inner as Record<string, unknown>);
      };
      lie(receipts.find((r: { name: string }) => r.name === SHARD));
      await writeFile(receiptsFile, JSON.stringify(receipts));
      const again = await startModelRecover(args(out), { env }).done;
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/1 file to recover/);
      expect(await md5(join(out, SHARD))).toBe(expectedMd5);
    }
  }, 120_000);
});
