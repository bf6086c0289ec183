import { createHash } from "node:crypto";
import { copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelRecover, modelRecoverInProcess, repoRoot, system } from "../support/cli.js";

// The command line of additive deltas, end to end: model-recover apply-delta and recover <delta recipe>,
// on tiny LLaMA-shaped pairs made by torch, against FastChat's math done by torch.
const PYTHON = "/usr/bin/python3";
const script = join(repoRoot, "packages", "pipeline", "src", "test-support", "delta_reference.py");
const sha256 = async (path: string) => createHash("sha256").update(await readFile(path)).digest("hex");
const weights = async (dir: string) => (await readdir(dir)).filter((name) => name.startsWith("pytorch_model")).sort();

let dir: string;
async function python(args: string[]): Promise<void> {
  const run = await system(PYTHON, ["-B", script, ...args], repoRoot);
  if (run.code !== 0) throw new Error(`delta_reference.py ${args[0]} failed (is python3-torch installed?): ${run.stderr}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mr-delta-"));
  await python(["pair", join(dir, "v11"), "21", "32000", String(10 ** 9), "5000000"]);
  await python(["apply", join(dir, "v11", "base"), join(dir, "v11", "delta"), join(dir, "v11", "reference"), String(10 ** 10), "add-delta"]);
  await python(["pair", join(dir, "v0"), "22", "32001", "5000000", String(10 ** 9)]);
  await python(["apply", join(dir, "v0", "base"), join(dir, "v0", "delta"), join(dir, "v0", "reference"), String(10 ** 10), "add-delta-v0"]);
  await python(["rewrite", join(dir, "v0", "delta"), join(dir, "v0", "diff"), "-", "float32"]);
  await python(["flip", join(dir, "v0", "diff"), join(dir, "v0", "diff-flipped"), "model.layers.0.self_attn.q_proj.weight"]);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("model-recover apply-delta", () => {
  it("adds a v1.1 delta to its base, byte for byte as FastChat's math in torch saves it, and says what it checked and fixed", async () => {
    const out = join(dir, "out-v11");
    const run = await modelRecover(["apply-delta", join(dir, "v11", "base"), join(dir, "v11", "delta"), "--out", out]);
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);
    expect(await weights(out)).toEqual(["pytorch_model.bin"]);
    expect(await sha256(join(out, "pytorch_model.bin"))).toBe(await sha256(join(dir, "v11", "reference", "pytorch_model.bin")));
    expect(run.stderr).toMatch(/^shapes: 23 tensors of a LLaMA of hidden size 64, 2 layers, 4 heads in the base and the delta agree \(32000 → 32000 tokens/m);
    expect(run.stderr).toMatch(/^fixing tokenizer_config\.json: tokenizer_class "LLaMATokenizer" .* written as "LlamaTokenizer"$/m);
    expect(run.stdout).toMatch(/^pytorch_model\.bin +\d+\.\d MB +sha256 [0-9a-f]{64} +verified \(no published hash to check\)$/m);
    expect(run.stdout).toMatch(/^not checked: no md5 is published for the recovered files/m);
    expect(run.stdout).toMatch(/All 6 files of the tuned model \(a LLaMA of hidden size 64, 2 layers, 4 heads\) \(\.bin\) made and verified in .*out-v11 \(\d+\.\d MB in \d+\.\d s\)\.\n$/);
  });

  it("refuses a v0 delta without --vocab pad-token in one line naming 32000 vs 32001 and what to use (exit 4), writing nothing", async () => {
    const out = join(dir, "out-v0-refused");
    const run = await modelRecover(["apply-delta", join(dir, "v0", "base"), join(dir, "v0", "delta"), "--out", out]);
    expect(run.code).toBe(4);
    expect(run.stderr.trim().split("\n").at(-1)).toMatch(/^model-recover: .*delta\/pytorch_model\.bin: the delta has 32001 tokens .*32000 vs 32001.*apply-delta --vocab pad-token$/);
    expect(await readdir(out).catch(() => "absent")).toBe("absent");
  });

  it("adds a v0 delta with --vocab pad-token, the base's [PAD] rows zeros first, as safetensors with --to safetensors", async () => {
    const out = join(dir, "out-v0");
    const run = await modelRecover(["apply-delta", join(dir, "v0", "base"), join(dir, "v0", "delta"), "--out", out, "--vocab", "pad-token"]);
    expect(run.code).toBe(0);
    expect(await sha256(join(out, "pytorch_model.bin"))).toBe(await sha256(join(dir, "v0", "reference", "pytorch_model.bin")));
    expect(run.stdout).toMatch(/ \(a LLaMA of hidden size 64, 2 layers, 4 heads, 32000 tokens, grown to 32001 tokens with the \[PAD\] row of zeros first\)$/m);
    const safetensors = join(dir, "out-v0-safetensors");
    expect((await modelRecover(["apply-delta", join(dir, "v0", "base"), join(dir, "v0", "delta"), "--out", safetensors, "--vocab", "pad-token", "--to", "safetensors"])).code).toBe(0);
    const inspect = await modelRecover(["inspect", safetensors]);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).not.toMatch(/problem|warning/i);
  });

  it("refuses an unknown --vocab with the modes it takes (exit 2)", async () => {
    const run = await modelRecover(["apply-delta", join(dir, "v0", "base"), join(dir, "v0", "delta"), "--out", join(dir, "x"), "--vocab", "32001"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('model-recover: --vocab 32001: expected same (32000 tokens, Vicuna v1.1), pad-token (32001, Vicuna v0, StableVicuna) or pad-mean (32001, float32 weight_diff.py: Alpaca, WizardLM)\n');
  });
});

describe("model-recover recover <delta recipe>", () => {
  it("refuses a base of another size than the recipe's by its shapes, before any weight is read (exit 4)", async () => {
    const out = join(dir, "out-vicuna-7b");
    const run = await modelRecover(["recover", "vicuna-7b-v1.1", "--base", join(dir, "v11", "base"), "--enc", join(dir, "v11", "delta"), "--out", out]);
    expect(run.code).toBe(4);
    expect(run.stderr.trim().split("\n").at(-1)).toMatch(/^model-recover: .*v11\/base: is a LLaMA of hidden size 64, 2 layers, 4 heads, but vicuna-7b-v1.1 is a delta of LLaMA-7B \(hidden 4096, 32 layers\); pass LLaMA-7B converted to Hugging Face format \(recipe llama-7b-hf\)$/);
    expect(await readdir(out).catch(() => "absent")).toBe("absent");
  });

  it("runs a delta recipe: --base the HF folder, --enc the delta, the recipe's prompt format in the summary", async () => {
    const recipe = join(dir, "tiny-vicuna.json");
    const files = ["pytorch_model.bin", "config.json", "tokenizer.model", "added_tokens.json"].map((name) => ({ name, md5: null }));
    await writeFile(recipe, JSON.stringify({ name: "tiny-vicuna", title: "A tiny Vicuna-shaped delta", pipeline: "add-delta-v0", card: "https://example.org/tiny-vicuna", base: { title: "a tiny LLaMA in HF format", files: [] }, files, prompt: "### Human: {input}\n### Assistant:" }));
    const out = join(dir, "out-recipe");
    const run = await modelRecover(["recover", recipe, "--base", join(dir, "v0", "base"), "--enc", join(dir, "v0", "delta"), "--out", out]);
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);
    expect(await sha256(join(out, "pytorch_model.bin"))).toBe(await sha256(join(dir, "v0", "reference", "pytorch_model.bin")));
    expect(run.stdout).toMatch(/All 6 files of A tiny Vicuna-shaped delta \(\.bin\) made and verified in/);
    expect(run.stdout).toMatch(/^not checked: added_tokens\.json: the recipe lists it, but it was not made \(the delta folder has no such file/m);
    expect(run.stdout).toContain('Prompt format it was trained with (https://example.org/tiny-vicuna):\n  "### Human: {input}\\n### Assistant:"');
  });

  it("asks for the delta folder when --enc is missing, naming it as such (exit 2)", async () => {
    const run = await modelRecover(["recover", "vicuna-13b-v0", "--base", join(dir, "v0", "base"), "--out", join(dir, "y")]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('model-recover: no --enc given for vicuna-13b-v0: pass --enc <the downloaded delta folder>, set MODEL_RECOVER_ENC, or put "enc" in model-recover.config.json\n');
  });

  it("list shows a delta by its base recipe and what its hashes allow: no md5 of the delta's files, the card's of the outputs (none), its base's md5s not taken for its own", async () => {
    const run = await modelRecoverInProcess(["list"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^vicuna-7b-v1\.1 +LLaMA-7B converted to Hugging Face format .*, as recipe llama-7b-hf makes it +add-delta +unknown +no delta md5 published, card md5 0\/7 +-$/m);
    expect(run.stdout).toMatch(/^alpaca-7b +.* +weight-diff +unknown +no delta md5 published, parameter sum, card md5 0\/8 +-$/m);
    expect(run.stdout).not.toMatch(/(add-delta|add-delta-v0|weight-diff) .*input md5/);
  });
});

describe("weight_diff.py's math (Alpaca, WizardLM) from the command line", () => {
  let sum: string;
  beforeAll(async () => {
    const run = await system(PYTHON, ["-B", script, "apply", join(dir, "v0", "base"), join(dir, "v0", "diff"), join(dir, "v0", "reference-wd"), String(10 ** 10), "weight-diff"], repoRoot);
    sum = run.stdout.trim();
  }, 60_000);

  it("recovers with --vocab pad-mean, byte for byte as torch saves it", async () => {
    const out = join(dir, "out-wd");
    const run = await modelRecover(["apply-delta", join(dir, "v0", "base"), join(dir, "v0", "diff"), "--out", out, "--vocab", "pad-mean"]);
    expect(run.code).toBe(0);
    expect(await sha256(join(out, "pytorch_model.bin"))).toBe(await sha256(join(dir, "v0", "reference-wd", "pytorch_model.bin")));
    expect(run.stdout).toMatch(/grown to 32001 tokens with the \[PAD\] row of the mean of its rows first\)$/m);
  });

  it("runs a recipe's parameter-sum check: passes on the right diff, fails with one weight flipped (exit 5, the sum named)", async () => {
    const recipe = join(dir, "tiny-alpaca.json");
    const files = ["pytorch_model.bin", "config.json"].map((name) => ({ name, md5: null }));
    await writeFile(recipe, JSON.stringify({ name: "tiny-alpaca", title: "A tiny Alpaca-shaped diff", pipeline: "weight-diff", card: "https://example.org/tiny-alpaca", base: { title: "a tiny LLaMA in HF format", files: [] }, files, paramSum: { expected: Number(sum), tolerance: 0.01 } }));
    const good = await modelRecover(["recover", recipe, "--base", join(dir, "v0", "base"), "--enc", join(dir, "v0", "diff"), "--out", join(dir, "out-alpaca")]);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(new RegExp(`^parameter sum: -?\\d+\\.\\d{4}, within 0.01 of the published ${sum.replace(".", "\\.")} \\(weight_diff\\.py's integrity check\\)$`, "m"));
    const bad = await modelRecover(["recover", recipe, "--base", join(dir, "v0", "base"), "--enc", join(dir, "v0", "diff-flipped"), "--out", join(dir, "out-alpaca-bad")]);
    expect(bad.code).toBe(5);
    expect(bad.stderr.trim().split("\n").at(-1)).toMatch(/^model-recover: .*out-alpaca-bad: the recovered parameters sum to -?[\d.]+, not -?[\d.]+ \(within 0\.01\) as https:\/\/example\.org\/tiny-alpaca says: weight_diff\.py's integrity check failed; check the base .* and the diff download, then run again$/);
  });
});

describe("model-recover pack --format add-delta", () => {
  it("publishes tuned − base with its recipe, and recover <that recipe> gives the tuned model back byte for byte", async () => {
    const tuned = join(dir, "v11", "reference");
    for (const name of ["config.json", "special_tokens_map.json", "tokenizer.model", "tokenizer_config.json"]) await copyFile(join(dir, "v11", "delta", name), join(tuned, name));
    const release = join(dir, "packed");
    const pack = await modelRecover(["pack", "--format", "add-delta", "--model", tuned, "--base", join(dir, "v11", "base"), "--out", release, "--name", "tiny-tuned", "--prompt", "USER: {input} ASSISTANT:"]);
    expect(pack.stderr).not.toMatch(/unexpected error/);
    expect(pack.code).toBe(0);
    expect(pack.stdout).toMatch(/^packed 5 files of tiny-tuned as an additive delta; round trip \(base \+ delta as FastChat's apply_delta adds\): all \d+ values come back exactly/m);
    const out = join(dir, "unpacked");
    const recover = await modelRecover(["recover", join(release, "tiny-tuned.recipe.json"), "--base", join(dir, "v11", "base"), "--enc", release, "--out", out]);
    expect(recover.code).toBe(0);
    expect(await sha256(join(out, "pytorch_model.bin"))).toBe(await sha256(join(tuned, "pytorch_model.bin")));
    expect(recover.stdout).toContain('Prompt format it was trained with:\n  "USER: {input} ASSISTANT:"');
  });

  it("refuses a --recipe inside the fine-tuned folder or the base before making anything (exit 4)", async () => {
    const tuned = join(dir, "v11", "reference");
    const config = await readFile(join(tuned, "config.json"));
    for (const recipe of [join(tuned, "config.json"), join(dir, "v11", "base", "tiny.recipe.json")]) {
      const out = join(dir, "never-packed");
      const pack = await modelRecover(["pack", "--format", "add-delta", "--model", tuned, "--base", join(dir, "v11", "base"), "--out", out, "--name", "tiny-tuned", "--recipe", recipe]);
      expect(pack.code, pack.stderr).toBe(4);
      expect(pack.stderr.trim().split("\n").at(-1)).toMatch(new RegExp(`^model-recover: ${recipe.replaceAll(".", "\\.")}: the recipe file \\(--recipe\\) is inside the (fine-tuned model folder \\(--model\\)|base \\(--base\\)) `));
      await expect(stat(out)).rejects.toMatchObject({ code: "ENOENT" });
    }
    expect(await readFile(join(tuned, "config.json"))).toEqual(config);
  });
});
