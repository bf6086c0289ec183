import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, statfs, truncate, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBelleShapedRelease, type BuiltRelease } from "../support/belle-shaped-release.js";
import { modelRecover, startModelRecover, system } from "../support/cli.js";
import { partialsIn } from "../support/state.js";

// Real full and read-only file systems need tmpfs mounts, so root on Linux; CI runs as root.
const canMount = process.platform === "linux" && process.getuid?.() === 0;

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}


describe("runs that share an output folder, disks that fill up or refuse writes, inputs that change", () => {
  let dir: string;
  let release: BuiltRelease;
  let plainList: string;
  const mounts: string[] = [];
  const args = (out: string, enc = release.encDir) => ["recover", release.recipePath, "--base", release.basePath, "--enc", enc, "--out", out];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-faults-"));
    release = await buildBelleShapedRelease(join(dir, "inputs"), { shardBytes: 300_000_000 });
    plainList = join(dir, "plain.md5");
    await writeFile(plainList, (await system("sh", ["-c", "md5sum ./*"], release.plainDir)).stdout);
  }, 120_000);
  afterAll(async () => {
    for (const mount of mounts) execFileSync("umount", ["-l", mount]);
    await rm(dir, { recursive: true, force: true });
  });

  async function tmpfs(name: string, options: string): Promise<string> {
    const mount = join(dir, name);
    await mkdir(mount, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", mount]);
    mounts.push(mount);
    return mount;
  }

  it("refuses a second run on the same output folder while the first runs, and the first completes", async () => {
    const out = join(dir, "shared-out");
    const first = startModelRecover(args(out));
    await until(() => existsSync(join(out, ".model-recover", "lock")));
    // Hold the first run still, so the second surely meets it mid-run.
    first.child.kill("SIGSTOP");
    const second = await modelRecover(args(out));
    first.child.kill("SIGCONT");
    expect(second.code).toBe(6);
    expect(second.stderr).toMatch(/\nmodel-recover: .*shared-out: another model-recover \(pid \d+, started .*\) is using this folder; wait for it to finish or stop it\n$/);
    const done = await first.done;
    expect(done.code, done.stderr).toBe(0);
    expect((await system("md5sum", ["-c", plainList], out)).code).toBe(0);
  }, 60_000);

  it("takes over a lock its crashed owner left, but never one held from another machine", async () => {
    const out = join(dir, "locked-out");
    await mkdir(join(out, ".model-recover"), { recursive: true });
    const lock = join(out, ".model-recover", "lock");
    await writeFile(lock, JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), started: "earlier" }));
    expect((await modelRecover(args(out))).code).toBe(0);
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: "another-machine", started: "now" }));
    const refused = await modelRecover(args(out));
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(/a model-recover on another-machine \(pid \d+, started now\) holds this folder; wait for it, or remove .*lock if that run is gone/);
  }, 60_000);

  it("lets runs into different folders share the same inputs", async () => {
    const runs = [startModelRecover(args(join(dir, "out-a"))), startModelRecover(args(join(dir, "out-b")))];
    for (const run of runs) expect((await run.done).code).toBe(0);
    for (const out of ["out-a", "out-b"]) expect((await system("md5sum", ["-c", plainList], join(dir, out))).code).toBe(0);
  }, 60_000);

  it("fails one file whose .enc shrinks during the run, names it, and keeps nothing of it", async () => {
    const enc = join(dir, "shrinking-enc");
    await system("cp", ["-r", release.encDir, enc], dir);
    const shard = (await readdir(enc)).find((n) => n.startsWith("pytorch_model-00001"))!;
    const out = join(dir, "shrink-out");
    const run = startModelRecover(args(out, enc));
    await until(async () => (await partialsIn(out)).length > 0);
    await truncate(join(enc, shard), 50_000_000);
    const done = await run.done;
    expect(done.code).toBe(4);
    expect(done.stderr).toMatch(/model-recover: .*pytorch_model-00001-of-00003\.bin\..*\.enc: shrank while being read \(at \d+ of \d+ bytes\); is a download still running\?/);
    expect(await readdir(out)).not.toContain("pytorch_model-00001-of-00003.bin");
    expect(await partialsIn(out)).toEqual([]);
  }, 60_000);

  it("stops with a clear error when the base shrinks during the run, and keeps no partial file", async () => {
    // A base longer than the shards, so key chunks are still being read when it shrinks.
    const big = await buildBelleShapedRelease(join(dir, "big-base"), { shardBytes: 200_000_000, baseBytes: 150_000_000 });
    const base = join(dir, "shrinking-base.pth");
    await system("cp", [big.basePath, base], dir);
    const out = join(dir, "base-shrink-out");
    const run = startModelRecover(["recover", big.recipePath, "--base", base, "--enc", big.encDir, "--out", out]);
    await until(async () => (await partialsIn(out)).length > 0);
    await truncate(base, 1000);
    const done = await run.done;
    expect(done.code, done.stderr).toBe(4);
    expect(done.stderr).toMatch(/model-recover: .*shrinking-base\.pth: base checkpoint shrank while in use .*; the base must not change while a recovery runs/);
    expect(await partialsIn(out)).toEqual([]);
  }, 60_000);

  it.runIf(canMount)("stops with a clear error when the disk fills up during the run, and keeps no partial file", async () => {
    const disk = await tmpfs("small-disk", "size=340m");
    const out = join(disk, "out");
    const run = startModelRecover(args(out));
    await until(async () => (await partialsIn(out)).length > 0);
    // Someone else fills the disk after the room check passed.
    await system("dd", ["if=/dev/zero", `of=${join(disk, "filler")}`, "bs=1M", "count=300"], disk);
    const done = await run.done;
    expect(done.code, done.stderr).toBe(4);
    expect(done.stderr).toMatch(/model-recover: .*out: the disk filled up while writing; free some space and run again \(verified files are kept\)/);
    expect(await partialsIn(out)).toEqual([]);
    await rm(join(disk, "filler"));
    const again = await modelRecover(args(out));
    expect(again.code, again.stderr).toBe(0);
    expect((await system("md5sum", ["-c", plainList], out)).code).toBe(0);
  }, 60_000);

  it.runIf(canMount)("stops a gzip payload that expands past what the recipe or half the free room allows, before the disk fills (issue 10, point 12)", async () => {
    // xor_codec --compress (spec §2): each payload is gzipped, so its size says nothing of what it expands to.
    const work = join(dir, "gzip-bomb");
    await mkdir(join(work, "base"), { recursive: true });
    await mkdir(join(work, "release"));
    await writeFile(join(work, "base", "pytorch_model.bin"), "k".repeat(4096));
    await system("sh", ["-c", "head -c 200000000 /dev/zero | gzip -1 > release/pytorch_model.bin"], work);
    const recipe = (size?: number) => ({ name: "bomb", title: "a gzip bomb", pipeline: "xor-codec-gzip", base: { title: "a base folder", files: [] }, files: [{ name: "pytorch_model.bin", md5: null, encMd5: null, ...(size ? { size } : {}) }] });
    const disk = await tmpfs("bomb-disk", "size=40m");
    const free = async () => Number((await statfs(disk)).bavail) * Number((await statfs(disk)).bsize);
    const before = await free();
    for (const [size, message] of [
      [1_000_000, /release\/pytorch_model\.bin: expands past the 1000000 bytes the recipe gives pytorch_model\.bin; the download is corrupt or not this release, download it again$/],
      [undefined, /out-\d: not enough room: the gzipped payloads expand past \d+(\.\d)? MB for pytorch_model\.bin alone and need that room twice; free some space or pass another --out$/],
    ] as const) {
      const path = join(work, `bomb-${size ?? "unknown"}.json`);
      await writeFile(path, JSON.stringify(recipe(size)));
      const run = await modelRecover(["recover", path, "--base", join(work, "base"), "--enc", join(work, "release"), "--out", join(disk, `out-${size ? 1 : 2}`)]);
      expect(run.code, run.stderr).toBe(4);
      expect(run.stderr.trim().split("\n").at(-1)).toMatch(message);
      // Stopped while expanding: never more than half the room used, and the scratch removed.
      expect(await free()).toBeGreaterThan(before - 1_000_000);
    }
  }, 60_000);

  it.runIf(canMount)("refuses a read-only output folder before any work", async () => {
    const readOnly = await tmpfs("read-only", "ro,size=1m");
    const run = await modelRecover(args(join(readOnly, "out")));
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/\nmodel-recover: .*read-only\/out: cannot create or use the output folder \(EROFS\); pass another --out\n$/);
  });

  it.runIf(canMount)("refuses an output folder too small for the outputs, saying how much is needed and free", async () => {
    const tiny = await tmpfs("tiny", "size=8m");
    const run = await modelRecover(args(join(tiny, "out")));
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/not enough room: the outputs need \d+(\.\d)? MB \(\d+ bytes\) but only \d+(\.\d)? MB \(\d+ bytes\) is free/);
    expect(await readdir(join(tiny, "out"))).toEqual([".model-recover"]);
  });
});
