import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { contiguousStateDict, convertTorchFileToSafetensors, safetensorsFileName } from "@model-recover/torch-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectPath } from "./inspect.js";
import type { InspectReport } from "./report.js";
import { llamaTensors, writeCheckpoint, writeIndex, writeLlamaFolder } from "./test-support/llama-folder.js";

const INDEX = "pytorch_model.bin.index.json";
const SHARD1 = "pytorch_model-00001-of-00002.bin";
const SHARD2 = "pytorch_model-00002-of-00002.bin";

let root: string;
let good: string;
let written: { weightMap: Record<string, string>; totalSize: number };
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "inspect-folder-"));
  good = join(root, "good");
  await mkdir(good);
  written = await writeLlamaFolder(good, { seed: 5 });
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** A copy of the good folder, changed by `edit`, inspected. */
async function inspectEdited(name: string, edit: (dir: string) => Promise<void>): Promise<InspectReport> {
  const dir = join(root, name);
  await cp(good, dir, { recursive: true });
  await edit(dir);
  return inspectPath(dir);
}

const messages = (report: InspectReport) => report.problems.map((p) => `${p.file}: ${p.message}`);
/** Rewrites the good folder's index with entries changed (null: removed), and total_size. */
const editIndex = (changes: Record<string, string | null>, totalSize?: number) => async (dir: string) => {
  const weightMap: Record<string, string> = { ...written.weightMap };
  for (const [name, shard] of Object.entries(changes)) {
    if (shard === null) delete weightMap[name];
    else weightMap[name] = shard;
  }
  await writeIndex(dir, INDEX, { metadata: { total_size: totalSize ?? written.totalSize }, weight_map: weightMap });
};

describe("a folder as save_pretrained writes it", () => {
  it("is consistent: every tensor listed is in its shard, every shape is config.json's, total_size adds up", async () => {
    const report = await inspectPath(good);
    expect(report).toMatchObject({ kind: "folder", consistent: true, problems: [], notes: [] });
    expect(report.config).toEqual({ modelType: "llama", architectures: ["LlamaForCausalLM"], hidden: 16, intermediate: 44, layers: 2, heads: 4, kvHeads: 4, headDim: 4, vocab: 32, tiedEmbeddings: false });
    expect(report.weightSets).toEqual([{ format: "pytorch", index: INDEX, files: [SHARD1, SHARD2], totals: expect.objectContaining({ tensors: llamaTensors().length, tensorBytes: written.totalSize }) }]);
    expect(report.files.map((f) => f.file)).toEqual([SHARD1, SHARD2]);
  });

  it("a single pytorch_model.bin needs no index", async () => {
    const dir = join(root, "single");
    await mkdir(dir);
    await writeLlamaFolder(dir, { seed: 6, shards: 1 });
    expect(await inspectPath(dir)).toMatchObject({ consistent: true, weightSets: [{ format: "pytorch", index: null, files: ["pytorch_model.bin"] }] });
  });
});

describe("a folder without Hugging Face weights", () => {
  it("is a problem that says which file to inspect instead (an original LLaMA download)", async () => {
    const dir = join(root, "original");
    await mkdir(dir);
    await writeCheckpoint(join(dir, "consolidated.00.pth"), contiguousStateDict([{ name: "tok_embeddings.weight", dtype: "F16", shape: [4, 2] }]), 3);
    await writeFile(join(dir, "params.json"), "{}");
    const report = await inspectPath(dir);
    expect(messages(report)).toEqual([
      "config.json: is missing: transformers cannot load the folder without it, and no tensor shape can be checked",
      "pytorch_model.bin: is missing, as are model.safetensors and both indexes: the folder holds no Hugging Face weights; to list a checkpoint's tensors, inspect the file itself (model-recover inspect consolidated.00.pth)",
    ]);
    expect(report).toMatchObject({ consistent: false, weightSets: [], files: [] });
  });
});

describe("the index against the shards", () => {
  // Expected lines are made once the good folder exists: they quote its index.
  const cases: Record<string, [(dir: string) => Promise<void>, () => string[]]> = {
    "a tensor listed in the wrong shard": [editIndex({ "model.norm.weight": SHARD1 }), () => [`${SHARD1}: lacks model.norm.weight, which ${INDEX} maps to it (it is in ${SHARD2})`]],
    "a tensor the index does not list": [editIndex({ "model.norm.weight": null }), () => [`${SHARD2}: holds model.norm.weight, which ${INDEX} does not list`]],
    "a tensor listed that no shard holds": [editIndex({ "model.extra.weight": SHARD2 }), () => [`${SHARD2}: lacks model.extra.weight, which ${INDEX} maps to it`]],
    "a shard the index names that is not there": [async (dir) => rm(join(dir, SHARD2)), () => [`${SHARD2}: is missing: ${INDEX} maps ${Object.values(written.weightMap).filter((s) => s === SHARD2).length} tensor(s) to it`]],
    "a shard on disk the index does not name": [
      async (dir) => writeCheckpoint(join(dir, "pytorch_model-00003-of-00003.bin"), contiguousStateDict([{ name: "stray", dtype: "F16", shape: [2] }]), 9),
      () => [`pytorch_model-00003-of-00003.bin: is on disk, but ${INDEX} does not name it`, `pytorch_model-00003-of-00003.bin: holds stray, which ${INDEX} does not list`, "pytorch_model-00003-of-00003.bin: holds stray, which a LLaMA with this config.json does not have"],
    ],
    "a wrong metadata.total_size": [editIndex({}, 12345), () => [`${INDEX}: metadata.total_size is 12345, but the shards' tensors hold ${written.totalSize} bytes`]],
  };
  for (const [what, [edit, expected]] of Object.entries(cases)) {
    it(`${what} is a problem, and the folder is inconsistent`, async () => {
      const report = await inspectEdited(what.replaceAll(" ", "-"), edit);
      expect(report.consistent).toBe(false);
      for (const line of expected()) expect(messages(report).some((m) => m.startsWith(line)), `${line}\n in ${messages(report).join("\n")}`).toBe(true);
    });
  }

  it("a shard name that leaves the folder is refused before anything is opened", async () => {
    const report = await inspectEdited("escape", editIndex({ "model.norm.weight": "../good/pytorch_model-00002-of-00002.bin" }));
    expect(messages(report)).toContain(`${INDEX}: maps "model.norm.weight" to "../good/pytorch_model-00002-of-00002.bin", which must be a plain file name (no / \\ or ..)`);
    expect(report.files.map((f) => f.file)).toEqual([SHARD1, SHARD2]);
  });

  it("the same tensor in two shards is a problem", async () => {
    const report = await inspectEdited("twice", async (dir) => {
      const shard2 = llamaTensors().filter((t) => written.weightMap[t.name] === SHARD2);
      await writeCheckpoint(join(dir, SHARD2), contiguousStateDict([...shard2, llamaTensors()[0]!]), 7);
    });
    expect(messages(report)).toContain(`${SHARD2}: holds model.embed_tokens.weight, which ${SHARD1} holds too`);
  });

  it("shards without an index are a problem: transformers finds them only through it", async () => {
    const report = await inspectEdited("no-index", async (dir) => rm(join(dir, INDEX)));
    expect(messages(report)).toContain(`${INDEX}: is missing, yet 2 shard file(s) are on disk that only it can list`);
  });

  it("a damaged shard is named and the other still inspected", async () => {
    const report = await inspectEdited("damaged", async (dir) => writeFile(join(dir, SHARD1), (await readFile(join(dir, SHARD1))).subarray(0, 500)));
    expect(messages(report)).toEqual([expect.stringMatching(new RegExp(`^${SHARD1}: .*truncated`))]);
    expect(report.files.map((f) => f.file)).toEqual([SHARD2]);
  });
});

describe("both formats side by side (a convert next to the .bin files)", () => {
  /** The good folder's shards converted as convert.py does, with its renamed index; then `edit`. */
  const withSafetensors = (edit: (dir: string) => Promise<void> = async () => {}) => async (dir: string) => {
    for (const shard of [SHARD1, SHARD2]) await convertTorchFileToSafetensors(join(dir, shard), join(dir, safetensorsFileName(shard)));
    const weightMap = Object.fromEntries(Object.entries(written.weightMap).map(([name, shard]) => [name, safetensorsFileName(shard)]));
    await writeIndex(dir, "model.safetensors.index.json", { metadata: { total_size: written.totalSize }, weight_map: weightMap });
    await edit(dir);
  };

  it("hold the same tensors: consistent, each format checked against its own index and config.json", async () => {
    const report = await inspectEdited("both", withSafetensors());
    expect(messages(report)).toEqual([]);
    expect(report.weightSets.map((s) => [s.format, s.index, s.files.length, s.totals.tensors])).toEqual([
      ["pytorch", INDEX, 2, llamaTensors().length],
      ["safetensors", "model.safetensors.index.json", 2, llamaTensors().length],
    ]);
  });

  it("a tensor whose dtype or shape differs between them, or that only one holds, is a problem", async () => {
    const report = await inspectEdited("differ", withSafetensors(async (dir) => {
      const shard2 = llamaTensors().filter((t) => written.weightMap[t.name] === SHARD2 && t.name !== "lm_head.weight");
      const changed = shard2.map((t) => (t.name === "model.norm.weight" ? { ...t, dtype: "F32" as const } : t));
      await writeCheckpoint(join(dir, "changed.bin"), contiguousStateDict(changed), 8);
      await convertTorchFileToSafetensors(join(dir, "changed.bin"), join(dir, "model-00002-of-00002.safetensors"));
      await rm(join(dir, "changed.bin"));
    }));
    expect(messages(report)).toEqual([
      "model-00002-of-00002.safetensors: lacks lm_head.weight, which model.safetensors.index.json maps to it",
      `model.safetensors.index.json: metadata.total_size is ${written.totalSize}, but the shards' tensors hold ${written.totalSize - 32 * 16 * 2 + 16 * 2} bytes`,
      "model.safetensors.index.json: no shard it lists holds lm_head.weight [32, 16], which config.json implies",
      "model-00002-of-00002.safetensors: model.norm.weight is F32 [16], but F16 [16] in pytorch_model-00002-of-00002.bin",
      "model.safetensors.index.json: the safetensors files have no lm_head.weight, which pytorch_model-00002-of-00002.bin holds",
    ]);
    expect(report.problems.map((p) => p.scope)).toEqual(["safetensors", "safetensors", "config", "safetensors", "safetensors"]);
  });
});
