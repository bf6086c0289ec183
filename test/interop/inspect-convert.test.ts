import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InspectReport } from "../../packages/pipeline/src/index.js";
import { modelRecover, modelRecoverInProcess, repoRoot, system } from "../support/cli.js";

// Debian's python3-torch lives under /usr/bin/python3, not a pyenv or venv interpreter on PATH.
const PYTHON = "/usr/bin/python3";
const torchFormatSupport = join(repoRoot, "packages", "torch-format", "test-support");
const reference = (args: string[]) => system(PYTHON, ["-B", join(repoRoot, "test", "support", "torch_reference.py"), ...args], repoRoot);
const checkSafetensors = (pairs: [string, string][]) => system(PYTHON, ["-B", join(torchFormatSupport, "check-safetensors.py"), ...pairs.flatMap(([st, bin]) => [st, "--bin", bin]), "--discard", "lm_head.weight"], repoRoot);

/** torch.load's view of each file: [name, dtype, shape] in state-dict order. */
async function torchStateDicts(paths: string[]): Promise<Record<string, [string, string, number[]][]>> {
  const run = await reference(["state-dicts", ...paths]);
  expect(run.stderr).toBe("");
  return JSON.parse(run.stdout);
}

/** inspect --json's view of a file or folder: [name, dtype, shape] per file, in the file's order. */
async function inspected(path: string): Promise<{ report: InspectReport; byFile: Record<string, [string, string, number[]][]> }> {
  const run = await modelRecover(["inspect", path, "--json"]);
  expect(run.stderr).toBe("");
  const report = JSON.parse(run.stdout) as InspectReport;
  const byFile = Object.fromEntries(report.files.map((f) => [f.file, f.tensors.map((t): [string, string, number[]] => [t.name, t.dtype, t.shape])]));
  return { report, byFile };
}

let dir: string;
let demoOut: string;
beforeAll(async () => {
  const torch = await system(PYTHON, ["-c", "import torch"], repoRoot);
  if (torch.code !== 0) throw new Error(`${PYTHON} cannot import torch: install Debian's python3-torch (apt-get install python3-torch); .ci/run does`);
  dir = await mkdtemp(join(tmpdir(), "mr-inspect-convert-"));
  demoOut = join(dir, "demo");
  expect((await modelRecover(["recover", "demo", "--out", demoOut])).code).toBe(0);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("inspect agrees with torch's own state_dict (names, dtypes, shapes), compared in code", () => {
  it("on the demo release recovered: every shard, in state-dict order; the folder is consistent (exit 0)", async () => {
    const { report, byFile } = await inspected(demoOut);
    expect(report.consistent).toBe(true);
    const shards = ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"];
    const torch = await torchStateDicts(shards.map((name) => join(demoOut, name)));
    for (const shard of shards) expect(byFile[shard], shard).toEqual(torch[join(demoOut, shard)]);
  }, 60_000);

  it("on checkpoints torch.save wrote (every dtype, tied and offset views, 0-d and empty tensors, protocols 2-5, zip64)", async () => {
    const made = join(dir, "torch-written");
    await mkdir(made);
    const run = await system(PYTHON, ["-B", join(torchFormatSupport, "make_checkpoints.py"), "valid", made, "--seed", "3"], repoRoot);
    expect(run.stderr).toBe("");
    const names = (await readdir(made)).filter((name) => name.endsWith(".bin"));
    const views = Object.fromEntries(await Promise.all(names.map(async (name) => [name, JSON.parse(await readFile(join(made, name.replace(/\.bin$/, ".torch.json")), "utf8"))] as const)));
    for (const name of names) {
      const result = await modelRecoverInProcess(["inspect", join(made, name), "--json"]);
      expect(result.code, name).toBe(0);
      const [file] = (JSON.parse(result.stdout) as InspectReport).files;
      const torchView = views[name] as { name: string; dtype: string; shape: number[]; stride: number[]; storage_offset: number; storage: number }[];
      expect(file!.tensors.map((t) => [t.name, t.dtype, t.shape, t.stride, t.storageOffset]), name).toEqual(torchView.map((t) => [t.name, SAFETENSORS_DTYPES[t.dtype], t.shape, t.stride, t.storage_offset]));
      // Sharing as torch sees it: tensors with one storage number are exactly those naming one storage key.
      const groups = (key: (i: number) => string | number) => file!.tensors.map((_, i) => file!.tensors.findIndex((__, j) => key(j) === key(i)));
      expect(groups((i) => file!.tensors[i]!.storage!), name).toEqual(groups((i) => torchView[i]!.storage));
    }
  }, 120_000);
});

const SAFETENSORS_DTYPES: Record<string, string> = { float64: "F64", float32: "F32", float16: "F16", bfloat16: "BF16", int64: "I64", int32: "I32", int16: "I16", int8: "I8", uint8: "U8", bool: "BOOL" };

describe("convert writes what check-safetensors.py accepts against torch.load of each .bin", () => {
  it("the demo, in place: every shard bit for bit, the index exactly as convert.py dumps it, and inspect finds both formats the same model", async () => {
    const run = await modelRecover(["convert", demoOut]);
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);
    const pairs: [string, string][] = [1, 2].map((k) => [join(demoOut, `model-0000${k}-of-00002.safetensors`), join(demoOut, `pytorch_model-0000${k}-of-00002.bin`)]);
    const check = await checkSafetensors(pairs);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
    const convertPy = await reference(["safetensors-index", join(demoOut, "pytorch_model.bin.index.json")]);
    expect(await readFile(join(demoOut, "model.safetensors.index.json"), "utf8")).toBe(convertPy.stdout);
    const { report } = await inspected(demoOut);
    expect(report).toMatchObject({ consistent: true, weightSets: [{ format: "pytorch" }, { format: "safetensors" }] });
  }, 60_000);

  it("a torch-written checkpoint with a tied lm_head, views at offsets and every dtype, into another folder", async () => {
    const model = join(dir, "tied-model");
    await mkdir(model);
    await copyFile(join(dir, "torch-written", "llama-mixed.bin"), join(model, "pytorch_model.bin"));
    await writeFile(join(model, "config.json"), JSON.stringify({ architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: 16, intermediate_size: 44, num_attention_heads: 4, num_hidden_layers: 2, vocab_size: 32 }));
    const out = join(dir, "tied-out");
    const run = await modelRecoverInProcess(["convert", model, "--out", out]);
    expect(run.stderr).toMatch(/^1 file to convert/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("model.safetensors: lm_head.weight is stored once, as model.embed_tokens.weight (recorded in __metadata__)");
    expect(run.stdout).toMatch(/warning: pytorch_model\.bin: holds extra\.bf16, which a LLaMA with this config\.json does not have/);
    expect((await readdir(out)).sort()).toEqual([".model-recover", "config.json", "model.safetensors"]);
    const check = await checkSafetensors([[join(out, "model.safetensors"), join(model, "pytorch_model.bin")]]);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
  }, 60_000);
});

describe("hostile checkpoints: a one-line error and exit 4 from inspect and convert, nothing run, nothing written", () => {
  let hostile: string;
  let markers: string;
  beforeAll(async () => {
    hostile = join(dir, "hostile");
    markers = join(dir, "markers");
    await mkdir(hostile);
    await mkdir(markers);
    const run = await system(PYTHON, ["-B", join(torchFormatSupport, "make_checkpoints.py"), "hostile", hostile, markers], repoRoot);
    expect(run.code).toBe(0);
  }, 120_000);

  /** The files the reader refuses (the others are valid checkpoints convert.py could still refuse). */
  const refusedByReader = async () => (await readdir(hostile)).filter((name) => name.endsWith(".bin") && !["source.bin", "storage-before-pickle.bin", "shared-no-complete.bin"].includes(name));

  it("inspect of each file: exit 4, one line on stderr naming the file, nothing on stdout", async () => {
    const files = await refusedByReader();
    expect(files.length).toBeGreaterThan(20);
    for (const name of files) {
      const run = await modelRecoverInProcess(["inspect", join(hostile, name)]);
      expect([run.code, run.stdout], name).toEqual([4, ""]);
      expect(run.stderr, name).toMatch(new RegExp(`^model-recover: ${escaped(join(hostile, name))}: [^\\n]+\\n$`));
    }
    const child = await modelRecover(["inspect", join(hostile, "os-system.bin")]);
    expect([child.code, child.stdout]).toEqual([4, ""]);
    expect(child.stderr).toMatch(new RegExp(`^model-recover: ${escaped(join(hostile, "os-system.bin"))}: os-system/data\\.pkl at byte \\d+: names the global os\\.system, which no state dict needs; refused, nothing was run \\(allowed: [^\\n]+\\)\\n$`));
  }, 120_000);

  it("convert of a folder whose pytorch_model.bin is hostile: exit 4 with one error line, the folder unchanged, nothing in --out", async () => {
    const cases = ["os-system.bin", "builtins-eval.bin", "torch-load.bin", "key-escapes.bin", "record-name-escapes.bin", "numel-overflow.bin", "compressed.bin", "legacy.bin", "shared-no-complete.bin"];
    for (const name of cases) {
      const model = join(dir, `convert-${name}`);
      await mkdir(model);
      await copyFile(join(hostile, name), join(model, "pytorch_model.bin"));
      await writeFile(join(model, "config.json"), "{}");
      const out = join(dir, `out-${name}`);
      const run = await modelRecoverInProcess(["convert", model, "--out", out]);
      expect([run.code, run.stdout], name).toEqual([4, ""]);
      const errors = run.stderr.split("\n").filter((line) => line.startsWith("model-recover: "));
      expect(errors, name).toEqual([expect.stringContaining("pytorch_model.bin")]);
      expect(run.stderr.endsWith(`${errors[0]}\n`), name).toBe(true);
      expect((await readdir(model)).sort(), name).toEqual(["config.json", "pytorch_model.bin"]);
      expect((await readdir(out).catch(() => [])).filter((entry) => !entry.startsWith(".")), name).toEqual([]);
    }
    const inPlace = join(dir, "convert-os-system.bin");
    expect((await modelRecover(["convert", inPlace])).code).toBe(4);
    expect((await readdir(inPlace)).sort()).toEqual(["config.json", "pytorch_model.bin"]);
  }, 120_000);

  it("no payload ran: the marker folder is empty", async () => {
    expect(await readdir(markers)).toEqual([]);
  });
});

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
