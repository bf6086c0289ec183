import { createHash } from "node:crypto";
import { chmod, copyFile, mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelRecover, pnpmScript, repoRoot, system } from "../support/cli.js";
import { tamperCachedReceipts } from "../support/turbo-cache.js";

// From Meta's original files to an additive-delta release in one command: `recover <delta recipe>`
// whose base is a conversion recipe converts the originals into the content store, then adds the
// delta against the store's folder; a second delta on the same base converts nothing. Tiny
// LLaMA-shaped originals, fine-tunes and deltas, all made by torch 1.13.1.
const PYTHON = "/usr/bin/python3";
const llamaReference = join(repoRoot, "packages", "llama-convert", "src", "test-support", "llama_reference.py");
const deltaReference = join(repoRoot, "packages", "pipeline", "src", "test-support", "delta_reference.py");
const hash = async (kind: "md5" | "sha256", path: string) => createHash(kind).update(await readFile(path)).digest("hex");

let dir: string;
let originals: string;
let converted: string;
let recipes: string;
const store = () => join(dir, "store");

async function python(script: string, args: string[]): Promise<void> {
  const run = await system(PYTHON, ["-B", script, ...args], repoRoot);
  if (run.code !== 0) throw new Error(`${script} ${args[0]} failed (is python3-torch installed?): ${run.stderr}`);
}

/** A fine-tune of the converted model (one weight flipped by torch), published as an additive delta on tiny-hf. */
async function deltaRelease(name: string, tensor: string): Promise<{ recipe: string; enc: string; tuned: string }> {
  const tuned = join(dir, `${name}-model`);
  await python(deltaReference, ["flip", converted, tuned, tensor]);
  const enc = join(dir, `${name}-delta`);
  const pack = await modelRecover(["pack", "--format", "add-delta", "--model", tuned, "--base", converted, "--out", enc, "--name", name]);
  if (pack.code !== 0) throw new Error(pack.stderr);
  const recipe = join(recipes, `${name}.json`);
  const packed = JSON.parse(await readFile(join(enc, `${name}.recipe.json`), "utf8"));
  await writeFile(recipe, JSON.stringify({ ...packed, base: { recipe: "tiny-hf" } }, null, 2));
  return { recipe, enc, tuned };
}

let first: Awaited<ReturnType<typeof deltaRelease>>;
let second: Awaited<ReturnType<typeof deltaRelease>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mr-chain-delta-"));
  originals = join(dir, "llama");
  converted = join(dir, "by-hand");
  recipes = join(dir, "recipes");
  await mkdir(recipes);
  await python(llamaReference, ["originals", originals, "tiny", "1", "7", "64", "4", "2"]);
  const convert = await modelRecover(["convert-llama", join(originals, "tiny"), "--out", join(dir, "convert-out")]);
  if (convert.code !== 0) throw new Error(convert.stderr);
  // The converted files alone, without the conversion's state folder, as a user's model folder.
  await mkdir(converted);
  for (const name of (await readdir(join(dir, "convert-out"))).filter((n) => !n.startsWith("."))) await copyFile(join(dir, "convert-out", name), join(converted, name));
  const inputs = [join(originals, "tiny", "consolidated.00.pth"), join(originals, "tiny", "params.json"), join(originals, "tokenizer.model")];
  const outputs = (await readdir(converted)).filter((name) => !name.startsWith("."));
  await writeFile(
    join(recipes, "tiny-hf.json"),
    JSON.stringify({
      name: "tiny-hf",
      title: "tiny LLaMA converted to Hugging Face format",
      pipeline: "convert-llama",
      base: { title: "tiny LLaMA as Meta would publish it", model: "tiny", files: await Promise.all(inputs.map(async (path) => ({ name: path.split("/").at(-1)!, md5: await hash("md5", path) }))) },
      files: await Promise.all(outputs.map(async (name) => ({ name, md5: await hash("md5", join(converted, name)) }))),
    }),
  );
  first = await deltaRelease("tiny-vicuna", "model.layers.0.self_attn.q_proj.weight");
  second = await deltaRelease("tiny-vicuna-2", "model.layers.1.mlp.up_proj.weight");
}, 240_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const recoverDelta = (release: { recipe: string; enc: string }, out: string) =>
  modelRecover(["recover", release.recipe, "--base", originals, "--enc", release.enc, "--out", join(dir, out), "--store", store()]);

describe("recover <delta recipe based on a conversion recipe> --base <the original download>", () => {
  it("converts the originals into the store, then adds the delta: the fine-tune back byte for byte", async () => {
    const run = await recoverDelta(first, "out-1");
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^tiny-hf: converting .* into the store/m);
    expect(run.stderr).toMatch(/^tiny-hf: verified and kept in the store: /m);
    expect(await hash("sha256", join(dir, "out-1", "pytorch_model.bin"))).toBe(await hash("sha256", join(first.tuned, "pytorch_model.bin")));
  }, 120_000);

  it("a second delta on the same base reuses the converted base: no conversion ran, the store's files untouched", async () => {
    const [entry] = await readdir(join(store(), "recipes", "tiny-hf"));
    const entryDir = join(store(), "recipes", "tiny-hf", entry!);
    const identity = async () => Promise.all((await readdir(entryDir)).sort().map(async (name) => `${name}:${(await stat(join(entryDir, name), { bigint: true })).mtimeNs}`));
    const before = await identity();
    const run = await recoverDelta(second, "out-2");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^tiny-hf: reusing .*; no conversion$/m);
    expect(run.stderr).not.toMatch(/converting|md5 of consolidated/);
    expect(await identity()).toEqual(before);
    expect(await hash("sha256", join(dir, "out-2", "pytorch_model.bin"))).toBe(await hash("sha256", join(second.tuned, "pytorch_model.bin")));
  }, 120_000);

  it("pnpm recover: a miss converts and adds; a hit is put back from the store with no tensor work, into any --out", async () => {
    const env = { TURBO_CACHE_DIR: join(dir, "turbo-cache"), MODEL_RECOVER_STORE: join(dir, "turbo-store") };
    const args = (out: string) => ["recover", first.recipe, "--base", originals, "--enc", first.enc, "--out", join(dir, out)];
    const tuned = await hash("sha256", join(first.tuned, "pytorch_model.bin"));
    const miss = await pnpmScript(args("turbo-out"), { env });
    expect(miss.code, miss.stderr).toBe(0);
    expect(miss.stderr).toMatch(/^tiny-hf: converting .* into the store/m);
    const again = await pnpmScript(args("turbo-out"), { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^model-recover: turbo cache hit: tiny-vicuna was made and verified from these very inputs before; no delta work$/m);
    expect(again.stderr).not.toMatch(/converting|adding|shapes:/);
    expect(again.stdout).toMatch(/^All 6 files of tiny-vicuna are in .*turbo-out: 6 as verified before, 0 put back from the store/m);
    // Another output folder: the same inputs, so the same hit, the files put back from the store.
    const elsewhere = await pnpmScript(args("turbo-out-2"), { env });
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    expect(elsewhere.stdout).toMatch(/^All 6 files of tiny-vicuna are in .*turbo-out-2: 0 as verified before, 6 put back from the store/m);
    expect(await hash("sha256", join(dir, "turbo-out-2", "pytorch_model.bin"))).toBe(tuned);
  }, 180_000);

  it("pnpm recover <conversion recipe>: a hit puts the converted folder back, .bin or safetensors, with no conversion", async () => {
    const env = { TURBO_CACHE_DIR: join(dir, "turbo-cache"), MODEL_RECOVER_STORE: join(dir, "turbo-store") };
    for (const to of ["bin", "safetensors"]) {
      const args = (out: string) => ["recover", join(recipes, "tiny-hf.json"), "--base", originals, "--out", join(dir, out), "--to", to];
      const miss = await pnpmScript(args(`converted-${to}`), { env });
      expect(miss.code, miss.stderr).toBe(0);
      expect(miss.stderr).not.toMatch(/turbo cache hit/);
      const hit = await pnpmScript(args(`converted-${to}-again`), { env });
      expect(hit.code, hit.stderr).toBe(0);
      expect(hit.stderr).toMatch(/^model-recover: turbo cache hit: tiny-hf was made and verified from these very inputs before; no conversion work$/m);
      const made = (await readdir(join(dir, `converted-${to}`))).filter((name) => !name.startsWith(".")).sort();
      expect(made.some((name) => name.endsWith(to === "bin" ? ".bin" : ".safetensors"))).toBe(true);
      expect((await readdir(join(dir, `converted-${to}-again`))).filter((name) => !name.startsWith(".")).sort()).toEqual(made);
      for (const name of made) expect(await hash("sha256", join(dir, `converted-${to}-again`, name)), name).toBe(await hash("sha256", join(dir, `converted-${to}`, name)));
    }
  }, 180_000);

  it("pnpm recover: a hit whose stored copy was edited in place runs the delta again, and never serves the edit", async () => {
    const env = { TURBO_CACHE_DIR: join(dir, "turbo-cache"), MODEL_RECOVER_STORE: join(dir, "turbo-store") };
    const out = join(dir, "turbo-out");
    const target = join(out, "pytorch_model.bin");
    await chmod(target, 0o644);
    const at = (await stat(target)).size - 100;
    const handle = await open(target, "r+");
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    await handle.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, at);
    await handle.close();
    const run = await pnpmScript(["recover", first.recipe, "--base", originals, "--enc", first.enc, "--out", out], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^model-recover: turbo cache hit, but the store no longer holds pytorch_model\.bin as verified; running the delta again$/m);
    expect(await hash("sha256", target)).toBe(await hash("sha256", join(first.tuned, "pytorch_model.bin")));
  }, 180_000);

  it("pnpm recover: a cached receipt naming another model's verified files is not put back: the store did not record making it from these inputs", async () => {
    const env = { TURBO_CACHE_DIR: join(dir, "turbo-cache"), MODEL_RECOVER_STORE: join(dir, "turbo-store") };
    // As the Vicuna recipes are: no md5 published for any output, so nothing in the recipe binds them.
    const recipe = join(recipes, "tiny-vicuna-unpublished.json");
    const packed = JSON.parse(await readFile(first.recipe, "utf8"));
    await writeFile(recipe, JSON.stringify({ ...packed, name: "tiny-vicuna-unpublished", files: packed.files.map((f: object) => ({ ...f, md5: null })) }));
    const args = (out: string) => ["recover", recipe, "--base", originals, "--enc", first.enc, "--out", join(dir, out)];
    const miss = await pnpmScript(args("unpublished"), { env });
    expect(miss.code, miss.stderr).toBe(0);
    // The cache rewritten to name the converted base's weights (verified, in the store, the same size).
    const baseWeights = join(dir, "converted-bin", "pytorch_model.bin");
    const base = { size: (await stat(baseWeights)).size, sha256: await hash("sha256", baseWeights), md5: await hash("md5", baseWeights) };
    const changed = await tamperCachedReceipts(env.TURBO_CACHE_DIR, (receipt) => {
      if (receipt.recipe !== "tiny-vicuna-unpublished") return;
      for (const file of receipt.files) if (file.name === "pytorch_model.bin") Object.assign(file, base);
    });
    expect(changed).toBeGreaterThan(0);
    const hit = await pnpmScript(args("unpublished-2"), { env });
    expect(hit.code, hit.stderr).toBe(0);
    expect(hit.stderr).toMatch(/^model-recover: turbo cache hit, but its receipt cannot stand for tiny-vicuna-unpublished's outputs \(its pytorch_model\.bin is not the one the store recorded making from these inputs\); running the delta again$/m);
    expect(await hash("sha256", join(dir, "unpublished-2", "pytorch_model.bin"))).toBe(await hash("sha256", join(first.tuned, "pytorch_model.bin")));
  }, 240_000);
});
