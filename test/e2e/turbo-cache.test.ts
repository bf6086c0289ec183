import { cp, mkdtemp, open, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pnpmScript, repoRoot, system, type CliRun } from "../support/cli.js";

/** The cache status of the recover task, from the run summary turbo wrote (`--summarize`). */
async function turboStatus(run: CliRun): Promise<string> {
  const path = /Summary:\s+(\S+\.json)/.exec(run.stdout + run.stderr)?.[1];
  if (!path) throw new Error(`no turbo run summary in the output:\n${run.stdout}\n${run.stderr}`);
  const summary = JSON.parse(await readFile(path, "utf8")) as { tasks: { taskId: string; cache: { status: string } }[] };
  return summary.tasks.find((t) => t.taskId === "@model-recover/manifests#recover")!.cache.status;
}

describe("pnpm recover through turbo: recoveries cached by the identity of their inputs", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let out: string;
  const recover = (...extra: string[]) => pnpmScript(["recover", "demo", "--out", out, ...extra], { env });
  // A changed input recovered into a folder of verified outputs reuses them (they still match the
  // recipe); into a fresh folder it must do, and fail, the work.
  const recoverInto = (folder: string, ...extra: string[]) => pnpmScript(["recover", "demo", "--out", join(dir, folder), ...extra], { env });
  const md5Check = () => system("md5sum", ["-c", join(repoRoot, "demo", "release", "demo.md5")], out);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-turbo-"));
    out = join(dir, "out");
    // A cache, identity cache and store of this test's own, so the first run is a miss wherever it runs.
    env = { TURBO_CACHE_DIR: join(dir, "turbo-cache"), MODEL_RECOVER_CACHE: join(dir, "cache"), MODEL_RECOVER_STORE: join(dir, "store") };
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("recovers on a miss, and the second run is a turbo cache hit with the output intact", async () => {
    const first = await recover();
    expect(first.code, first.stderr).toBe(0);
    expect(await turboStatus(first)).toBe("MISS");
    expect((await md5Check()).code).toBe(0);

    const second = await recover();
    expect(second.code).toBe(0);
    expect(await turboStatus(second)).toBe("HIT");
    expect(second.stderr).toMatch(/turbo cache hit, no XOR work: all 9 files of demo are in/);
    expect((await md5Check()).code).toBe(0);
  }, 120_000);

  it("misses when one .enc byte changes, and that run fails verification", async () => {
    const enc = join(dir, "enc");
    await cp(join(repoRoot, "demo", "release"), enc, { recursive: true });
    const shard = (await readdir(enc)).find((n) => n.startsWith("pytorch_model-00002"))!;
    const handle = await open(join(enc, shard), "r+");
    await handle.write(Buffer.from([0x5a]), 0, 1, 100_000);
    await handle.close();
    const changed = await recoverInto("changed-enc", "--enc", enc);
    expect(await turboStatus(changed)).toBe("MISS");
    expect(changed.code).toBe(5);
    // turbo relays the task's output on its own stdout.
    expect(changed.stdout + changed.stderr).toMatch(/pytorch_model-00002-of-00002\.bin did not verify.*is corrupt: md5 [0-9a-f]{32}, the card says/);
    expect(await readdir(join(dir, "changed-enc"))).not.toContain("pytorch_model-00002-of-00002.bin");
  }, 120_000);

  it("puts a deleted output folder back from the store on a hit, without XOR work", async () => {
    await rm(out, { recursive: true, force: true });
    const restored = await recover();
    expect(restored.code).toBe(0);
    expect(await turboStatus(restored)).toBe("HIT");
    expect(restored.stderr).toMatch(/put back 9 files from the output store .* without XOR work; sizes checked/);
    expect((await md5Check()).code).toBe(0);
  }, 120_000);

  it("never leaves a receipt without its files: with the output and the store gone, a hit recovers again", async () => {
    await rm(out, { recursive: true, force: true });
    await rm(env.MODEL_RECOVER_STORE!, { recursive: true, force: true });
    const run = await recover();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/missing from .* and from the output store; recovering again/);
    expect((await md5Check()).code).toBe(0);
  }, 120_000);

  it("misses when the base differs or the recipe is edited", async () => {
    const base = join(dir, "consolidated.00.pth");
    await cp(join(repoRoot, "demo", "base", "consolidated.00.pth"), base);
    const handle = await open(base, "r+");
    await handle.write(Buffer.from([0xff]), 0, 1, 500_000);
    await handle.close();
    const otherBase = await recoverInto("other-base", "--base", base);
    expect(await turboStatus(otherBase)).toBe("MISS");
    expect(otherBase.code).not.toBe(0);

    const recipe = JSON.parse(await readFile(join(repoRoot, "manifests", "demo.json"), "utf8"));
    const edited = join(dir, "demo-edited.json");
    await writeFile(edited, JSON.stringify({ ...recipe, title: "edited", bundled: undefined }, null, 2));
    const run = await pnpmScript(["recover", edited, "--out", out, "--base", join(repoRoot, "demo/base/consolidated.00.pth"), "--enc", join(repoRoot, "demo/release")], { env });
    expect(await turboStatus(run)).toBe("MISS");
    expect(run.code).toBe(0);
  }, 120_000);
});
