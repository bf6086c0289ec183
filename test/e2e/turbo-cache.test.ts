import { chmod, cp, mkdir, mkdtemp, open, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoDir, pnpmScript, system, type CliRun } from "../support/cli.js";
import { tamperCachedReceipts } from "../support/turbo-cache.js";

const HIT = /model-recover: turbo cache hit: demo was recovered and verified from these very inputs before/;
/** Lines of turbo's own and of package builds that pnpm recover must never show (issue: one voice). */
const NOT_OURS = /Packages in scope|cache (miss|hit), (executing|replaying|suppressing)|Tasks:\s|FULL TURBO|tsc -p|• turbo|Remote caching/;

/** Overwrite bytes in place, as an editor writing in place or `dd conv=notrunc` does (the file may be read-only). */
async function editInPlace(path: string, at: number, bytes: number[]): Promise<void> {
  await chmod(path, 0o644);
  const handle = await open(path, "r+");
  await handle.write(Buffer.from(bytes), 0, bytes.length, at);
  await handle.close();
}

describe("pnpm recover through turbo: cached by the identity of its inputs, quiet, and never trusting what it caches", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let out: string;
  const recover = (...extra: string[]) => pnpmScript(["recover", "demo", "--out", out, ...extra], { env });
  const recoverInto = (folder: string, ...extra: string[]) => pnpmScript(["recover", "demo", "--out", join(dir, folder), ...extra], { env });
  const md5Check = (folder = out) => system("md5sum", ["-c", join(demoDir, "release", "demo.md5")], folder);
  const ours = (run: CliRun) => run.stdout + run.stderr;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-turbo-"));
    out = join(dir, "out");
    // A turbo cache and store of this test's own, so the first run is a miss wherever it runs.
    env = { TURBO_CACHE_DIR: join(dir, "turbo-cache"), MODEL_RECOVER_STORE: join(dir, "store") };
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("recovers on a miss with model-recover's own lines only, and the second run is a hit that says so in one line", async () => {
    const first = await recover();
    expect(first.code, first.stderr).toBe(0);
    expect(ours(first)).not.toMatch(HIT);
    expect(ours(first)).not.toMatch(NOT_OURS);
    expect(first.stdout).toMatch(/All 9 files of model-recover demo \(tiny LLaMA\) verified in/);
    expect((await md5Check()).code).toBe(0);

    const second = await recover();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr.match(new RegExp(HIT.source, "g"))).toHaveLength(1);
    expect(ours(second)).not.toMatch(NOT_OURS);
    expect(second.stdout).toMatch(/All 9 files of model-recover demo \(tiny LLaMA\) verified in/);
    expect((await md5Check()).code).toBe(0);
  }, 120_000);

  it("misses when one .enc byte changes, and that run fails verification", async () => {
    const enc = join(dir, "enc");
    await cp(join(demoDir, "release"), enc, { recursive: true });
    const shard = (await readdir(enc)).find((n) => n.startsWith("pytorch_model-00002"))!;
    await editInPlace(join(enc, shard), 100_000, [0x5a]);
    const changed = await recoverInto("changed-enc", "--enc", enc);
    expect(ours(changed)).not.toMatch(HIT);
    expect(changed.code).toBe(5);
    expect(ours(changed)).toMatch(/pytorch_model-00002-of-00002\.bin did not verify.*is corrupt: md5 [0-9a-f]{32}, the card says/);
    expect(await readdir(join(dir, "changed-enc"))).not.toContain("pytorch_model-00002-of-00002.bin");
  }, 120_000);

  it("puts a deleted output folder back from the store on a hit, without XOR work", async () => {
    await rm(out, { recursive: true, force: true });
    const restored = await recover();
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr).toMatch(HIT);
    expect(restored.stdout).toMatch(/^pytorch_model-00001-of-00002\.bin .* verified \(header sha256 \+ card md5\), from the output store$/m);
    expect(restored.stderr).toMatch(/all 9 files already verified: nothing to recover/);
    expect((await md5Check()).code).toBe(0);
  }, 120_000);

  it("never lets a cached receipt lead outside the output folder: a name like ../x, an absolute path or one the recipe lacks is ignored (issue 10, point 6)", async () => {
    const escaped = join(dir, "escaped.bin");
    const changed = await tamperCachedReceipts(env.TURBO_CACHE_DIR!, (receipt) => {
      const real = receipt.files[0]!;
      receipt.files.push({ ...real, name: "../escaped.bin" }, { ...real, name: join(dir, "absolute.bin") }, { ...real, name: "not-in-the-recipe.bin" });
    });
    expect(changed).toBeGreaterThan(0);
    await rm(out, { recursive: true, force: true });
    const run = await recover();
    expect(existsSync(escaped)).toBe(false);
    expect(existsSync(join(dir, "absolute.bin"))).toBe(false);
    expect(await readdir(out)).not.toContain("not-in-the-recipe.bin");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(HIT);
    expect((await md5Check()).code).toBe(0);
  }, 120_000);

  it("never serves bytes edited in place, in the output or through it in the store: they are found, removed and recovered", async () => {
    // The output and its store entry share an inode; an in-place edit of one is an edit of both.
    await editInPlace(join(out, "pytorch_model-00001-of-00002.bin"), 1000, [1, 2, 3, 4]);
    const again = await recover();
    expect(again.code, again.stderr).toBe(0);
    // Found by its changed identity, re-hashed, and recovered: neither copy can be put back.
    expect(again.stderr).toMatch(/\n1 file to recover \(531 kB\), 8 already verified\n/);
    expect((await md5Check()).code).toBe(0);
    // A fresh folder is served from the store, which now holds the recovered bytes again.
    const fresh = await recoverInto("fresh");
    expect(fresh.code, fresh.stderr).toBe(0);
    expect((await md5Check(join(dir, "fresh"))).code).toBe(0);
  }, 120_000);

  it("replaces a symlink planted where an output was, on a hit", async () => {
    await writeFile(join(dir, "victim.txt"), "do not touch\n");
    await rm(join(out, "config.json"), { force: true });
    await symlink(join(dir, "victim.txt"), join(out, "config.json"));
    const run = await recover();
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(dir, "victim.txt"), "utf8")).toBe("do not touch\n");
    expect((await md5Check()).code).toBe(0);
  }, 120_000);

  it("recovers again when the store has lost the files a hit needs", async () => {
    await rm(out, { recursive: true, force: true });
    await rm(env.MODEL_RECOVER_STORE!, { recursive: true, force: true });
    const run = await recover();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(HIT);
    expect(run.stderr).toMatch(/9 files to recover/);
    expect((await md5Check()).code).toBe(0);
  }, 120_000);

  it("takes the output folder's lock: run while another recovery holds the folder, it stops with exit 6 and touches nothing", async () => {
    const busy = join(dir, "busy");
    await mkdir(join(busy, ".model-recover", "partial"), { recursive: true });
    // A live run's lock (this test's own process) and the temporary output it is writing.
    await writeFile(join(busy, ".model-recover", "lock"), JSON.stringify({ pid: process.pid, host: hostname(), started: "now" }));
    const part = join(busy, ".model-recover", "partial", "0123456789abcdef0123456789abcdef.part");
    await writeFile(part, "being written");
    const second = await recoverInto("busy");
    expect(second.code, second.stderr).toBe(6);
    expect(second.stderr).toMatch(/another model-recover \(pid \d+, started now\) is using this folder; wait for it to finish or stop it/);
    expect(await readFile(part, "utf8")).toBe("being written");
    expect((await readdir(busy)).sort()).toEqual([".model-recover"]);
  }, 120_000);

  it("misses when the base differs or the recipe is edited", async () => {
    const base = join(dir, "consolidated.00.pth");
    await cp(join(demoDir, "base", "consolidated.00.pth"), base);
    await editInPlace(base, 500_000, [0xff]);
    const otherBase = await recoverInto("other-base", "--base", base);
    expect(ours(otherBase)).not.toMatch(HIT);
    expect(otherBase.code).not.toBe(0);

    const recipe = JSON.parse(await readFile(join(demoDir, "..", "demo.json"), "utf8"));
    const edited = join(dir, "demo-edited.json");
    await writeFile(edited, JSON.stringify({ ...recipe, title: "edited", bundled: undefined }, null, 2));
    const run = await pnpmScript(["recover", edited, "--out", join(dir, "edited"), "--base", join(demoDir, "base", "consolidated.00.pth"), "--enc", join(demoDir, "release")], { env });
    expect(ours(run)).not.toMatch(/turbo cache hit/);
    expect(run.code, run.stderr).toBe(0);
  }, 120_000);
});
