import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelRecover, repoRoot, system } from "../support/cli.js";

// The command line of a conversion, end to end: model-recover convert-llama and recover <conversion recipe>.
const PYTHON = "/usr/bin/python3";
const reference = join(repoRoot, "packages", "llama-convert", "src", "test-support", "llama_reference.py");
const checkSafetensors = join(repoRoot, "packages", "torch-format", "test-support", "check-safetensors.py");
const PARAMS_30B = '{"dim": 6656, "multiple_of": 256, "n_heads": 52, "n_layers": 60, "norm_eps": 1e-06, "vocab_size": -1}';
const sha256 = async (path: string) => createHash("sha256").update(await readFile(path)).digest("hex");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mr-convert-"));
  for (const args of [["originals", join(dir, "llama"), "tiny", "1", "3"], ["reference", join(dir, "llama", "tiny"), join(dir, "reference"), String(10 ** 10)]]) {
    const run = await system(PYTHON, ["-B", reference, ...args], repoRoot);
    if (run.code !== 0) throw new Error(`llama_reference.py ${args[0]} failed (is python3-torch installed?): ${run.stderr}`);
  }
  await mkdir(join(dir, "published", "30B"), { recursive: true });
  await writeFile(join(dir, "published", "30B", "params.json"), PARAMS_30B);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("model-recover convert-llama", () => {
  it("converts the originals into the folder torch's conversion makes, byte for byte, and says what it checked", async () => {
    const out = join(dir, "out");
    const run = await modelRecover(["convert-llama", join(dir, "llama", "tiny"), "--out", out]);
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);
    expect(await sha256(join(out, "pytorch_model.bin"))).toBe(await sha256(join(dir, "reference", "pytorch_model.bin")));
    expect(run.stderr).toMatch(/^shapes: 21 tensors in 1 file are what params.json says/m);
    expect(run.stdout).toMatch(/^ {2}consolidated\.00\.pth +\d+\.\d MB +no published md5 to check$/m);
    expect(run.stdout).toMatch(/^pytorch_model\.bin +\d+\.\d MB +sha256 [0-9a-f]{64} +verified \(no published hash to check\)$/m);
    expect(run.stdout).toMatch(/All 6 files of a LLaMA-shaped model \(dim 512, 4 heads, 2 layers\) \(\.bin\) converted and verified in .*out \(\d+\.\d MB in \d+\.\d s\)\.\n$/);
  });

  it("writes safetensors with --to safetensors, as check-safetensors.py reads torch's .bin", async () => {
    const out = join(dir, "out-safetensors");
    const run = await modelRecover(["convert-llama", join(dir, "llama"), "--out", out, "--to", "safetensors"]);
    expect(run.code).toBe(0);
    const check = await system(PYTHON, ["-B", checkSafetensors, join(out, "model.safetensors"), "--bin", join(dir, "reference", "pytorch_model.bin")], repoRoot);
    expect(check.stderr).toBe("");
    expect(check.stdout).toMatch(/model\.safetensors: ok: 23 tensors/);
  });

  it("writes in a dry run, from LLaMA-30B's params.json alone, the five small files with the md5s OpenAssistant's card lists", async () => {
    const out = join(dir, "dry-30b");
    const run = await modelRecover(["convert-llama", join(dir, "published", "30B"), "--out", out, "--dry-run"]);
    expect(run.code).toBe(0);
    const card = ["598538f18fed1877b41f77de034c0c8a  config.json", "aee09e21813368c49baaece120125ae3  generation_config.json", "fecfda4fba7bfd911e187a85db5fa2ef  pytorch_model.bin.index.json", "edd1a5897748864768b1fab645b31491  tokenizer_config.json", "6b2e0a735969660e720c27061ef3f3d3  special_tokens_map.json"];
    await writeFile(join(dir, "card.md5"), `${card.join("\n")}\n`);
    expect((await system("md5sum", ["-c", join(dir, "card.md5")], out)).stdout.trim().split("\n")).toEqual(card.map((line) => `${line.split("  ")[1]}: OK`));
    expect(run.stdout).toMatch(/^dry run: not written, 7 weight files \(65\.1 GB\): pytorch_model-00001-of-00007\.bin \(9818324627 bytes\), /m);
    expect(run.stdout).toMatch(/^tokenizer\.json: published \(md5 fdb311c39b8659a5d5c1991339bafc09\) but not made here: .*Rust tokenizers converter/m);
    await expect(stat(join(out, "pytorch_model-00001-of-00007.bin"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a format it does not write, as a usage error", async () => {
    const run = await modelRecover(["convert-llama", join(dir, "llama"), "--out", join(dir, "x"), "--to", "gguf"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("model-recover: --to gguf: expected bin or safetensors\n");
  });
});

describe("model-recover recover <conversion recipe>", () => {
  it("runs the tensor engine: llama-30b-hf reads the 30B folder of the download given with --base", async () => {
    const run = await modelRecover(["recover", "llama-30b-hf", "--base", join(dir, "published"), "--out", join(dir, "recovered-30b")]);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain(`originals: ${join(dir, "published", "30B")}`);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(`model-recover: ${join(dir, "published", "30B", "consolidated.00.pth")}: missing (and 3 more); LLaMA-30B comes as 4 files, consolidated.00.pth to consolidated.03.pth (check the download against its checklist.chk)`);
  });

  it("takes no --enc: a conversion has no release folder", async () => {
    const run = await modelRecover(["recover", "llama-7b-hf", "--base", dir, "--enc", dir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("model-recover: --enc: llama-7b-hf is a conversion, not a release; it reads the original download given with --base\n");
  });

  it("identify knows the converted files: made by llama-30b-hf, the base of oasst-sft-6-llama-30b", async () => {
    const run = await modelRecover(["identify", join(dir, "dry-30b", "config.json")]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/config\.json of LLaMA-30B converted to Hugging Face format .*; made by llama-30b-hf; it unlocks: oasst-sft-6-llama-30b\n$/);
  });

  it("list shows each conversion with the checks its published hashes allow", async () => {
    const run = await modelRecover(["list"]);
    expect(run.stdout).toMatch(/^llama-30b-hf +LLaMA-30B as Meta published it .* +convert-llama +unknown +input md5 6\/6, card md5 14\/14 +-$/m);
    expect(run.stdout).toMatch(/^llama-65b-hf +LLaMA-65B as Meta published it .* +convert-llama +unknown +input md5 1\/10, card md5 1\/20 +-$/m);
  });
});
