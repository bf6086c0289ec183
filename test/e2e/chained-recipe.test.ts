import { createHash } from "node:crypto";
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packRelease } from "@model-recover/pipeline";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { modelRecover, pnpmScript, repoRoot, system } from "../support/cli.js";
import { snapshot } from "../support/snapshot.js";

// `recover <recipe whose base is another recipe>`: the conversion into the content store, then the
// XOR against the store's folder, end to end on tiny LLaMA-shaped originals made by torch 1.13.1.
const PYTHON = "/usr/bin/python3";
const reference = join(repoRoot, "packages", "llama-convert", "src", "test-support", "llama_reference.py");
const md5 = async (path: string) => createHash("md5").update(await readFile(path)).digest("hex");
const visible = async (dir: string) => (await readdir(dir)).filter((name) => !name.startsWith(".")).sort();

let dir: string;
/** The original download (llama/tiny/…, llama/tokenizer.model), the conversion by hand, the recipes. */
let originals: string;
let converted: string;
let recipes: string;
let hfFiles: string[];

/** A fine-tune of the converted model: each file's bytes changed, packed with xor-codec against the conversion. */
async function fineTune(name: string, seed: number): Promise<{ recipe: string; enc: string }> {
  const model = join(dir, `${name}-model`);
  await mkdir(model);
  for (const [index, file] of hfFiles.entries()) {
    const bytes = await readFile(join(converted, file));
    const noise = xorshift32Bytes(seed + index, bytes.length);
    const tuned = file.endsWith(".bin") ? bytes.map((b, i) => b ^ (noise[i]! & 0x0f)) : file.endsWith(".json") ? `${JSON.stringify({ ...JSON.parse(bytes.toString()), _name_or_path: name }, null, 2)}\n` : bytes;
    await writeFile(join(model, file), tuned);
  }
  const enc = join(dir, `${name}-enc`);
  const recipe = join(recipes, `${name}.json`);
  await packRelease({ modelDir: model, basePath: converted, outDir: enc, name, format: "xor-codec", recipePath: recipe });
  const packed = JSON.parse(await readFile(recipe, "utf8"));
  await writeFile(recipe, JSON.stringify({ ...packed, base: { recipe: "tiny-hf" } }, null, 2));
  return { recipe, enc };
}

let first: { recipe: string; enc: string };
let second: { recipe: string; enc: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mr-chain-"));
  originals = join(dir, "llama");
  converted = join(dir, "by-hand", "hf");
  recipes = join(dir, "recipes");
  await mkdir(recipes);
  const made = await system(PYTHON, ["-B", reference, "originals", originals, "tiny", "1", "7", "64", "4", "2"], repoRoot);
  if (made.code !== 0) throw new Error(`llama_reference.py originals failed (is python3-torch installed?): ${made.stderr}`);
  const convert = await modelRecover(["convert-llama", join(originals, "tiny"), "--out", converted]);
  if (convert.code !== 0) throw new Error(convert.stderr);
  hfFiles = await visible(converted);
  // The conversion recipe: the tiny originals' md5s as published inputs, the conversion's as published outputs.
  const inputs = [join(originals, "tiny", "consolidated.00.pth"), join(originals, "tiny", "params.json"), join(originals, "tokenizer.model")];
  const conversion = {
    name: "tiny-hf",
    title: "tiny LLaMA converted to Hugging Face format",
    pipeline: "convert-llama",
    base: { title: "tiny LLaMA as Meta would publish it", model: "tiny", files: await Promise.all(inputs.map(async (path) => ({ name: path.split("/").at(-1)!, md5: await md5(path) }))) },
    files: await Promise.all(hfFiles.map(async (name) => ({ name, md5: await md5(join(converted, name)) }))),
  };
  await writeFile(join(recipes, "tiny-hf.json"), JSON.stringify(conversion, null, 2));
  first = await fineTune("tiny-tuned", 100);
  second = await fineTune("tiny-tuned-2", 200);
  // The second step by hand: the converted folder as --base, as before recipes chained.
  const byHand = await modelRecover(["recover", first.recipe, "--base", converted, "--enc", first.enc, "--out", join(dir, "by-hand", "tuned")]);
  if (byHand.code !== 0 || /tiny-hf:/.test(byHand.stderr)) throw new Error(byHand.stderr);
}, 180_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const store = () => join(dir, "store");
const recoverChained = (release: { recipe: string; enc: string }, out: string, extra: string[] = []) =>
  modelRecover(["recover", release.recipe, "--base", originals, "--enc", release.enc, "--out", join(dir, out), "--store", store(), ...extra]);
const entries = async () => (await readdir(join(store(), "recipes", "tiny-hf"))).sort();
/** Inode, size, mtime and ctime of every file of the store's one entry. */
async function entryIdentity(): Promise<Record<string, string>> {
  const [entry] = await entries();
  const identity: Record<string, string> = {};
  for (const name of await readdir(join(store(), "recipes", "tiny-hf", entry!))) {
    const info = await stat(join(store(), "recipes", "tiny-hf", entry!, name), { bigint: true });
    identity[name] = `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
  }
  return identity;
}

describe("recover <recipe based on a recipe> --base <the original download>", () => {
  it("converts into the store, then recovers against it: the same bytes as the two steps by hand", async () => {
    const before = await snapshot(dir);
    const run = await recoverChained(first, "chained");
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^md5 of consolidated\.00\.pth is the published one \([0-9a-f]{32}\)$/m);
    expect(run.stderr).toMatch(new RegExp(`^tiny-hf: converting ${originals} into the store \\(${store()}/recipes/tiny-hf/[0-9a-f]{32}\\.partial\\)$`, "m"));
    expect(run.stderr).toMatch(new RegExp(`^tiny-hf: verified and kept in the store: ${store()}/recipes/tiny-hf/[0-9a-f]{32}$`, "m"));
    expect(run.stdout).toMatch(new RegExp(`^All 6 files of a LLaMA-shaped model \\(dim 64, 4 heads, 2 layers\\) \\(\\.bin\\) converted and verified in ${store()}/recipes/tiny-hf/[0-9a-f]{32} `, "m"));
    expect(run.stdout).toMatch(/^All 6 files of tiny-tuned verified in .*chained \(/m);
    expect(run.stdout).not.toMatch(/warning/);
    const [entry] = await entries();
    expect(await entries()).toEqual([entry]);
    const entryDir = join(store(), "recipes", "tiny-hf", entry!);
    for (const name of hfFiles) expect(await md5(join(entryDir, name)), name).toBe(await md5(join(converted, name)));
    expect((await readdir(entryDir)).sort()).toEqual([".verified.json", ...hfFiles].sort());
    const tuned = await visible(join(dir, "by-hand", "tuned"));
    expect(await visible(join(dir, "chained"))).toEqual(tuned);
    for (const name of tuned) expect(await md5(join(dir, "chained", name)), name).toBe(await md5(join(dir, "by-hand", "tuned", name)));
    // Nothing was written outside the store and the output folder; every input is as it was.
    const after = await snapshot(dir);
    const outside = (snap: Record<string, string>) => Object.fromEntries(Object.entries(snap).filter(([path]) => !path.startsWith(`${store()}/`) && !path.startsWith(`${join(dir, "chained")}/`)));
    expect(outside(after)).toEqual(outside(before));
    // The store's files are read-only and none is the output's: the output cannot edit the base.
    for (const name of hfFiles) expect((await stat(join(entryDir, name))).mode & 0o222, name).toBe(0);
    const outputInodes = new Set(await Promise.all(tuned.map(async (name) => (await stat(join(dir, "chained", name))).ino)));
    for (const name of hfFiles) expect(outputInodes.has((await stat(join(entryDir, name))).ino)).toBe(false);
  }, 120_000);

  it("reuses the store's verified conversion for a second recipe on the same base: no conversion, not a file touched", async () => {
    const identity = await entryIdentity();
    const run = await recoverChained(second, "chained-2");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`^tiny-hf: reusing ${store()}/recipes/tiny-hf/[0-9a-f]{32} \\(verified \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); no conversion$`, "m"));
    expect(run.stderr).not.toMatch(/converting|md5 of consolidated|shapes:/);
    expect(run.stdout).not.toMatch(/converted and verified/);
    expect(run.stdout).toMatch(/All \d+ files of tiny-tuned-2 verified/);
    expect(await entryIdentity()).toEqual(identity);
    expect(await entries()).toHaveLength(1);
  }, 60_000);

  it("detects a store entry changed since it verified, and converts it again", async () => {
    const [entry] = await entries();
    const shard = join(store(), "recipes", "tiny-hf", entry!, "pytorch_model.bin");
    const good = await md5(shard);
    await chmod(shard, 0o644);
    const bytes = await readFile(shard);
    bytes[bytes.length - 3]! ^= 0xff;
    await writeFile(shard, bytes);
    const run = await recoverChained(first, "chained-3");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`^tiny-hf: the store's entry is not what was verified \\(${shard} changed since it verified \\(sha256 [0-9a-f]{64}, not [0-9a-f]{64}\\)\\); converting again$`, "m"));
    expect(run.stderr).toMatch(/^tiny-hf: verified and kept in the store: /m);
    expect(await md5(shard)).toBe(good);
    expect(await entries()).toEqual([entry]);
  }, 60_000);

  it("continues a conversion an earlier run left in <key>.partial: the files verified there are kept, then it is renamed into place", async () => {
    const [key] = await entries();
    const resumed = join(dir, "resume-store");
    const partial = join(resumed, "recipes", "tiny-hf", `${key}.partial`);
    // What a run stopped after its last file verified leaves: the conversion of the same recipe from the same originals.
    const stopped = await modelRecover(["recover", join(recipes, "tiny-hf.json"), "--base", originals, "--out", partial]);
    expect(stopped.code, stopped.stderr).toBe(0);
    const run = await modelRecover(["recover", first.recipe, "--base", originals, "--enc", first.enc, "--out", join(dir, "resumed-out"), "--store", resumed]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^all 6 files already verified: nothing to write$/m);
    expect(run.stderr).toContain(`tiny-hf: verified and kept in the store: ${join(resumed, "recipes", "tiny-hf", key!)}\n`);
    expect(await readdir(join(resumed, "recipes", "tiny-hf"))).toEqual([key]);
  }, 60_000);

  it("takes a folder converted before as --base, as it did before recipes chained", async () => {
    const run = await modelRecover(["recover", second.recipe, "--base", converted, "--enc", second.enc, "--out", join(dir, "given"), "--store", join(dir, "unused-store")]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/tiny-hf:/);
    // The store keeps the recovered files as ever (--store), and no conversion.
    await expect(stat(join(dir, "unused-store", "recipes"))).rejects.toMatchObject({ code: "ENOENT" });
  }, 60_000);

  it("keeps the store in $XDG_CACHE_HOME/model-recover/store when no --store is given", async () => {
    const cache = join(dir, "xdg-cache");
    const run = await modelRecover(["recover", first.recipe, "--base", originals, "--enc", first.enc, "--out", join(dir, "xdg-out")], { env: { XDG_CACHE_HOME: cache } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`tiny-hf: verified and kept in the store: ${join(cache, "model-recover", "store", "recipes", "tiny-hf")}/`);
  }, 60_000);

  it("--verify sha256 takes the entry made from checked originals, or makes one of its own from the shape check alone", async () => {
    const run = await recoverChained(second, "chained-sha256", ["--verify", "sha256"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^tiny-hf: reusing .*; no conversion$/m);
    expect(await entries()).toHaveLength(1);
    // A fresh store: the shape check alone, no md5 pass over the originals, an entry of its own.
    const shapesOnly = await modelRecover(["recover", second.recipe, "--base", originals, "--enc", second.enc, "--out", join(dir, "chained-shapes"), "--store", join(dir, "shapes-store"), "--verify", "sha256"]);
    expect(shapesOnly.code, shapesOnly.stderr).toBe(0);
    expect(shapesOnly.stderr).toMatch(/^shapes: /m);
    expect(shapesOnly.stderr).not.toMatch(/^md5 of /m);
    const [entry] = await readdir(join(dir, "shapes-store", "recipes", "tiny-hf"));
    expect(entry).not.toBe((await entries())[0]);
    for (const name of hfFiles) expect(await md5(join(dir, "shapes-store", "recipes", "tiny-hf", entry!, name)), name).toBe(await md5(join(converted, name)));
  }, 60_000);

  it("says what --base may be when it is not there", async () => {
    const missing = join(dir, "no-such-download");
    const run = await modelRecover(["recover", first.recipe, "--base", missing, "--enc", first.enc, "--out", join(dir, "never-made"), "--store", store()]);
    expect(run.code).toBe(4);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(`model-recover: ${missing}: not found; tiny-tuned is built on tiny-hf: pass --base <the original download tiny-hf converts, or a folder it made>`);
  }, 60_000);

  it("refuses a store inside the original download before writing anything there", async () => {
    const before = await snapshot(originals);
    const run = await modelRecover(["recover", first.recipe, "--base", originals, "--enc", first.enc, "--out", join(dir, "never-out"), "--store", join(originals, "store")]);
    expect(run.code).toBe(4);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(`model-recover: ${join(originals, "store")}: the content store (--store) is inside the original download (--base) ${originals}; pass a store apart from the original download, so that nothing of yours is overwritten or removed`);
    expect(await snapshot(originals)).toEqual(before);
    await expect(stat(join(originals, "store"))).rejects.toMatchObject({ code: "ENOENT" });
  }, 60_000);

  it("refuses an output or a --keep-enc inside the original download, and a bad Hub flag, before converting anything", async () => {
    const before = await snapshot(originals);
    const cases: [string[], number, string][] = [
      [["--enc", first.enc, "--out", join(originals, "out")], 4, `model-recover: ${join(originals, "out")}: the output folder (--out) is inside the original download (--base) ${originals}; pass an output apart from every input, so that nothing of yours is overwritten or removed`],
      [["--from-hub", "--keep-enc", join(originals, "enc"), "--out", join(dir, "never-out")], 2, `model-recover: tiny-tuned names no Hugging Face repo ("hub" in ${first.recipe}); add one (model-recover recipe from-folder --hub <owner/name>) or download the release and pass --enc`],
      [["--enc", first.enc, "--keep-enc", join(dir, "kept"), "--out", join(dir, "never-out")], 2, "model-recover: --keep-enc goes with --from-hub"],
      // With a Hub repo named, --from-hub needs no --enc, and the download may not land in the originals.
      [["--from-hub", "--keep-enc", join(originals, "enc"), "--out", join(dir, "never-out")], 4, `model-recover: ${join(originals, "enc")}: the release folder (--keep-enc) is inside the original download (--base) ${originals}; pass an output apart from every input, so that nothing of yours is overwritten or removed`],
    ];
    const onHub = join(dir, "on-hub");
    await mkdir(onHub, { recursive: true });
    await cp(join(recipes, "tiny-hf.json"), join(onHub, "tiny-hf.json"));
    await writeFile(join(onHub, "tiny-tuned.json"), JSON.stringify({ ...JSON.parse(await readFile(first.recipe, "utf8")), hub: { repo: "owner/tiny-tuned-enc" } }));
    for (const [index, [extra, code, message]] of cases.entries()) {
      const fresh = join(dir, `never-store-${index}`);
      const recipe = index === cases.length - 1 ? join(onHub, "tiny-tuned.json") : first.recipe;
      const run = await modelRecover(["recover", recipe, "--base", originals, "--store", fresh, ...extra], { env: { HF_ENDPOINT: "http://127.0.0.1:9" } });
      expect(run.code, extra.join(" ")).toBe(code);
      expect(run.stderr.trim().split("\n")).toEqual([message]);
      await expect(stat(fresh)).rejects.toMatchObject({ code: "ENOENT" });
    }
    expect(await snapshot(originals)).toEqual(before);
  }, 60_000);

  it("never writes through a link planted in the store, and says what to remove", async () => {
    const planted = join(dir, "planted-store");
    const elsewhere = join(dir, "elsewhere");
    await mkdir(join(planted, "recipes"), { recursive: true });
    await mkdir(elsewhere);
    await symlink(elsewhere, join(planted, "recipes", "tiny-hf"));
    const run = await modelRecover(["recover", first.recipe, "--base", originals, "--enc", first.enc, "--out", join(dir, "planted-out"), "--store", planted]);
    expect(run.code).toBe(4);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(`model-recover: ${join(planted, "recipes", "tiny-hf")}: is not a folder (a link?) in the store; the store writes only inside itself: remove it and run again`);
    expect(await readdir(elsewhere)).toEqual([]);
  }, 60_000);
});

describe("pnpm recover <recipe based on a recipe> --base <the original download>: two turbo tasks, recover-base then recover", () => {
  const HIT = /^model-recover: turbo cache hit: tiny-tuned was recovered and verified from these very inputs before/m;
  const env = () => ({ TURBO_CACHE_DIR: join(dir, "turbo-cache"), MODEL_RECOVER_STORE: join(dir, "turbo-store") });
  // --verbose shows turbo's own lines: each task's cache decision.
  const recover = (release = first, out = "turbo-out") => pnpmScript(["recover", release.recipe, "--base", originals, "--enc", release.enc, "--out", join(dir, out), "--verbose"], { env: env() });
  const decisions = (stderr: string) => ({
    base: /@model-recover\/cli:recover-base: cache (hit|miss)/.exec(stderr)?.[1],
    main: /@model-recover\/cli:recover: cache (hit|miss)/.exec(stderr)?.[1],
  });

  it("converts and recovers on a miss of both, is a hit of both the second time, and misses both when an original changes (the store spares the conversion)", async () => {
    const miss = await recover();
    expect(miss.code, miss.stderr).toBe(0);
    expect(decisions(miss.stderr)).toEqual({ base: "miss", main: "miss" });
    expect(miss.stderr).not.toMatch(HIT);
    expect(miss.stderr).toMatch(/^tiny-hf: converting .* into the store/m);
    expect(miss.stdout).toMatch(/^All 6 files of tiny-tuned verified in /m);
    const hit = await recover();
    expect(hit.code, hit.stderr).toBe(0);
    expect(decisions(hit.stderr)).toEqual({ base: "hit", main: "hit" });
    expect(hit.stderr).toMatch(HIT);
    expect(hit.stderr).toMatch(/^tiny-hf: reusing .*; no conversion$/m);
    expect(hit.stderr).not.toMatch(/converting/);
    for (const name of await visible(join(dir, "by-hand", "tuned"))) expect(await md5(join(dir, "turbo-out", name)), name).toBe(await md5(join(dir, "by-hand", "tuned", name)));
    // Another recipe on the same originals: its base step is turbo's cached one, its own step is new.
    const other = await recover(second, "turbo-out-2");
    expect(other.code, other.stderr).toBe(0);
    expect(decisions(other.stderr)).toEqual({ base: "hit", main: "miss" });
    expect(other.stderr).not.toMatch(/converting/);
    // A new mtime and ctime of an original are a new identity of the base step, and so of the recovery after it.
    const params = join(originals, "tiny", "params.json");
    await utimes(params, new Date(), new Date(2020, 0, 1));
    const changed = await recover();
    expect(changed.code, changed.stderr).toBe(0);
    expect(decisions(changed.stderr)).toEqual({ base: "miss", main: "miss" });
    expect(changed.stderr).not.toMatch(HIT);
    expect(changed.stderr).toMatch(/^tiny-hf: reusing .*; no conversion$/m);
  }, 240_000);
});

describe("a recipe whose base recipe cannot be had is a recipe problem (exit 3)", () => {
  it("an unknown base recipe, and a cycle, each in one line", async () => {
    const tuned = JSON.parse(await readFile(first.recipe, "utf8"));
    await writeFile(join(recipes, "orphan.json"), JSON.stringify({ ...tuned, name: "orphan", base: { recipe: "llama-3b-hf" } }));
    await writeFile(join(recipes, "loop-a.json"), JSON.stringify({ ...tuned, name: "loop-a", base: { recipe: "loop-b" } }));
    await writeFile(join(recipes, "loop-b.json"), JSON.stringify({ ...tuned, name: "loop-b", base: { recipe: "loop-a" } }));
    const args = (recipe: string) => ["recover", join(recipes, recipe), "--base", originals, "--enc", first.enc, "--out", join(dir, "never"), "--store", join(dir, "never-store")];
    const orphan = await modelRecover(args("orphan.json"), { cwd: recipes });
    expect(orphan.code).toBe(3);
    expect(orphan.stderr).toBe('model-recover: orphan.json: /base: {"recipe": "llama-3b-hf"} names no recipe (no llama-3b-hf.json next to it or among the bundled recipes); run `model-recover list` for the names\n');
    const loop = await modelRecover(args("loop-a.json"), { cwd: recipes });
    expect(loop.code).toBe(3);
    expect(loop.stderr).toBe('model-recover: loop-b.json: /base: {"recipe": "loop-a"} makes a cycle (loop-a -> loop-b -> loop-a); a chain of recipes must end in a base checkpoint\n');
    for (const path of ["never", "never-store"]) await expect(stat(join(dir, path))).rejects.toMatchObject({ code: "ENOENT" });
  }, 60_000);
});

describe("the bundled chain", () => {
  it("oasst-sft-6-llama-30b's base is llama-30b-hf's output: --base <the download> converts it first", async () => {
    const download = join(dir, "download-30b");
    await cp(join(originals, "tiny"), join(download, "30B"), { recursive: true });
    await cp(join(originals, "tokenizer.model"), join(download, "tokenizer.model"));
    const run = await modelRecover(["recover", "oasst-sft-6-llama-30b", "--base", download, "--enc", first.enc, "--out", join(dir, "oasst"), "--store", join(dir, "oasst-store")]);
    // The tiny download is no LLaMA-30B: llama-30b-hf's published inputs refuse it before anything is written.
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/^originals: .*download-30b\/30B \(a LLaMA-shaped model/m);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(`model-recover: ${join(download, "tokenizer.model")}: 4099 bytes, but a LLaMA-shaped model (dim 64, 4 heads, 2 layers)'s published tokenizer.model has 499723; the file is truncated or not the published one: download it again`);
    await expect(stat(join(dir, "oasst"))).rejects.toMatchObject({ code: "ENOENT" });
  }, 60_000);
});
