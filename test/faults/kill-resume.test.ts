import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBelleShapedRelease, type BuiltRelease } from "../support/belle-shaped-release.js";
import { startModelRecover, system } from "../support/cli.js";
import { partialDir, stateDir, stateId } from "../support/state.js";

async function until(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Whether a run has saved a resume record since `since` (ms): it is then well into the XOR. */
async function recordedSince(out: string, since: number): Promise<boolean> {
  const names = (await readdir(partialDir(out)).catch(() => [])).filter((n) => n.endsWith(".json"));
  const times = await Promise.all(names.map((n) => stat(join(partialDir(out), n)).then((s) => s.mtimeMs, () => 0)));
  return times.some((t) => t > since);
}

/** Resume points every 10 MB, so that kills at any moment leave something to continue from. */
const env = { MODEL_RECOVER_CHECKPOINT_MB: "10" };
const KILLS = 6;

describe("a recovery killed with SIGKILL at any moment resumes until done", () => {
  let dir: string;
  let release: BuiltRelease;
  let plainList: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-kill-"));
    release = await buildBelleShapedRelease(join(dir, "inputs"), { shardBytes: 300_000_000 });
    plainList = join(dir, "plain.md5");
    await writeFile(plainList, (await system("sh", ["-c", "md5sum ./*"], release.plainDir)).stdout);
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("continues each file from its last durable point, never from further back, and the result verifies", async () => {
    const out = join(dir, "out");
    const args = ["recover", release.recipePath, "--base", release.basePath, "--enc", release.encDir, "--out", out];
    const resumedAt = new Map<string, number[]>();
    let kills = 0;
    for (let run = 0; run < KILLS + 1; run++) {
      const startedAt = Date.now();
      const { child, done } = startModelRecover(args, { env });
      let exited = false;
      void done.then(() => (exited = true));
      if (run < KILLS) {
        // Kill at a moment spread over the XOR itself: once this run has recorded progress (or at
        // once, every other run, to hit startup and preflight too), plus a varying delay.
        if (run % 2 === 0) await until(async () => exited || (await recordedSince(out, startedAt)));
        setTimeout(() => child.kill("SIGKILL"), (run * 173) % 300);
      }
      const result = await done;
      for (const [, name, bytes] of result.stderr.matchAll(/resuming (\S+) from .*\((\d+) bytes; rehashing/g)) {
        resumedAt.set(name!, [...(resumedAt.get(name!) ?? []), Number(bytes)]);
      }
      if (result.signal === "SIGKILL") kills++;
      else {
        expect(result.stderr).not.toMatch(/unexpected error/);
        expect(result.code, result.stderr).toBe(0);
        if (run >= KILLS) break;
      }
    }
    expect(kills).toBeGreaterThan(0);
    expect(resumedAt.size, "some file resumed").toBeGreaterThan(0);
    // Bounded work: a later run never resumes a file from further back than an earlier one did.
    for (const [name, points] of resumedAt) expect(points, name).toEqual([...points].sort((a, b) => a - b));
    const check = await system("md5sum", ["-c", plainList], out);
    expect(check.code, check.stdout).toBe(0);
    expect(await readdir(partialDir(out))).toEqual([]);
    expect(await readdir(dir)).toEqual(["inputs", "out", "plain.md5"]);
  }, 180_000);

  it("stops cleanly on Ctrl-C, says how to resume, and the next run continues", async () => {
    const out = join(dir, "out-interrupted");
    const args = ["recover", release.recipePath, "--base", release.basePath, "--enc", release.encDir, "--out", out];
    const { child, done } = startModelRecover(args, { env });
    // Interrupt once the run has made something durable, as a user would some minutes in.
    await until(async () => (await readdir(partialDir(out)).catch(() => [])).some((n) => n.endsWith(".json")));
    child.kill("SIGINT");
    const stopped = await done;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/model-recover: interrupted; .* will continue where they stopped: run the same command again to resume/);
    expect(await readdir(out)).not.toContain("pytorch_model-00001-of-00003.bin");
    const { done: again } = startModelRecover(args, { env });
    const resumed = await again;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming pytorch_model-0000\d-of-00003\.bin from/);
    expect((await system("md5sum", ["-c", plainList], out)).code).toBe(0);
  }, 60_000);

  it("cleans up after a run killed between publishing a file and forgetting its progress", async () => {
    const out = join(dir, "out-published");
    const args = ["recover", release.recipePath, "--base", release.basePath, "--enc", release.encDir, "--out", out];
    expect((await startModelRecover(args, { env }).done).code).toBe(0);
    // What such a kill leaves: the file under its final name, no receipt, its progress and its temporary file.
    const shard = "pytorch_model-00003-of-00003.bin";
    await rm(join(stateDir(out), "receipts.json"));
    await writeFile(join(partialDir(out), `${stateId(shard)}.json`), JSON.stringify({ name: shard, durableBytes: 10_485_760, inputs: "x" }));
    await writeFile(join(partialDir(out), `${stateId(shard)}.part`), "partial");
    await writeFile(join(partialDir(out), `.${stateId(shard)}.json.4242.0badcafe.tmp`), "{");
    await writeFile(join(stateDir(out), ".receipts.json.4242.0badcafe.tmp"), "[");
    await writeFile(join(stateDir(out), "lock.4242"), "{}");
    const again = await startModelRecover(args, { env }).done;
    expect(again.code, again.stderr).toBe(0);
    expect(await readdir(partialDir(out))).toEqual([]);
    expect((await readdir(stateDir(out))).sort()).toEqual(["partial", "receipts.json"]);
    expect((await system("md5sum", ["-c", plainList], out)).code).toBe(0);
  }, 60_000);
});

