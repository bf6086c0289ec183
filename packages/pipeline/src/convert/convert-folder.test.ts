import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { identityOf } from "@model-recover/safe-fs";
import { readSafetensorsHeader } from "@model-recover/torch-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectPath } from "../inspect/inspect.js";
import { writeCheckpoint, writeIndex, writeLlamaFolder } from "../inspect/test-support/llama-folder.js";
import { convertFolder } from "./convert-folder.js";
import type { ConvertEvent } from "./events.js";

const SHARD1 = "pytorch_model-00001-of-00002.bin";
const SHARD2 = "pytorch_model-00002-of-00002.bin";
const OUTPUTS = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"];

let root: string;
let model: string;
let written: { weightMap: Record<string, string>; totalSize: number };
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "convert-folder-"));
  model = join(root, "model");
  await mkdir(model);
  written = await writeLlamaFolder(model, { seed: 11 });
  await writeFile(join(model, "tokenizer.model"), "not a real tokenizer");
  await writeFile(join(model, ".gitattributes"), "*.bin filter=lfs\n");
});
afterAll(() => rm(root, { recursive: true, force: true }));

let copies = 0;
async function copyOfModel(edit: (dir: string) => Promise<void> = async () => {}): Promise<string> {
  const dir = join(root, `copy${copies++}`);
  await cp(model, dir, { recursive: true });
  await edit(dir);
  return dir;
}

const visible = async (dir: string) => (await readdir(dir)).filter((name) => !name.startsWith(".")).sort();

describe("convert next to the .bin files (no --out)", () => {
  it("adds the safetensors files and their index, says what it did, and leaves every .bin file as it was", async () => {
    const dir = await copyOfModel();
    const before = await Promise.all([SHARD1, SHARD2].map(async (name) => identityOf(await stat(join(dir, name)))));
    const events: ConvertEvent[] = [];
    const summary = await convertFolder({ inDir: dir, onEvent: (e) => events.push(e) });
    expect(await visible(dir)).toEqual([...OUTPUTS, "config.json", SHARD1, SHARD2, "pytorch_model.bin.index.json", "tokenizer.model"].sort());
    expect(await Promise.all([SHARD1, SHARD2].map(async (name) => identityOf(await stat(join(dir, name)))))).toEqual(before);
    expect(summary).toMatchObject({ inPlace: true, index: "model.safetensors.index.json", copied: [], warnings: [] });
    expect(summary.shards.map((s) => [s.bin, s.safetensors])).toEqual([[SHARD1, OUTPUTS[0]], [SHARD2, OUTPUTS[1]]]);
    expect(events.map((e) => e.type)).toEqual(["planned", "room-checked", "shard-started", "shard-converted", "shard-started", "shard-converted", "published"]);
    expect(await readdir(join(dir, ".model-recover", "partial"))).toEqual([]);
    expect(await inspectPath(dir)).toMatchObject({ consistent: true, weightSets: [{ format: "pytorch" }, { format: "safetensors" }] });
  });

  it("writes the index as convert.py dumps it: the .bin index with each weight_map entry renamed, indent 4, no final newline", async () => {
    const dir = await copyOfModel();
    await convertFolder({ inDir: dir });
    const text = await readFile(join(dir, "model.safetensors.index.json"), "utf8");
    const renamed = Object.fromEntries(Object.entries(written.weightMap).map(([name, shard]) => [name, shard.replace("pytorch_model", "model").replace(".bin", ".safetensors")]));
    expect(text).toBe(JSON.stringify({ metadata: { total_size: written.totalSize }, weight_map: renamed }, null, 4));
  });

  it("a single pytorch_model.bin becomes model.safetensors, with no index", async () => {
    const dir = join(root, "single");
    await mkdir(dir);
    await writeLlamaFolder(dir, { seed: 12, shards: 1 });
    expect(await convertFolder({ inDir: dir })).toMatchObject({ index: null, shards: [{ bin: "pytorch_model.bin", safetensors: "model.safetensors" }] });
    expect((await readSafetensorsHeader(join(dir, "model.safetensors"))).metadata).toEqual({ format: "pt" });
  });

  it("replaces a symlink planted at an output's name instead of writing through it", async () => {
    const outside = join(root, "outside.txt");
    await writeFile(outside, "keep me");
    const dir = await copyOfModel((d) => symlink(outside, join(d, OUTPUTS[0]!)));
    await convertFolder({ inDir: dir });
    expect(await readFile(outside, "utf8")).toBe("keep me");
    expect((await readSafetensorsHeader(join(dir, OUTPUTS[0]!))).tensors.length).toBeGreaterThan(0);
  });
});

describe("convert into another folder (--out)", () => {
  it("writes the safetensors files there and copies the non-weight files as they are; hidden files stay behind", async () => {
    const out = join(root, "elsewhere", "st");
    const summary = await convertFolder({ inDir: model, outDir: out });
    expect(await visible(out)).toEqual([...OUTPUTS, "config.json", "tokenizer.model"].sort());
    expect(summary).toMatchObject({ inPlace: false, copied: ["config.json", "tokenizer.model"] });
    for (const name of summary.copied) expect(await readFile(join(out, name))).toEqual(await readFile(join(model, name)));
    expect(await inspectPath(out)).toMatchObject({ consistent: true, weightSets: [{ format: "safetensors" }] });
  });

  it("refuses an output inside the model folder, or holding it, before anything is created", async () => {
    await expect(convertFolder({ inDir: model, outDir: join(model, "st") })).rejects.toMatchObject({ code: "OUT_OVERLAPS", message: expect.stringContaining("is inside the model folder") });
    await expect(convertFolder({ inDir: model, outDir: root })).rejects.toMatchObject({ code: "OUT_OVERLAPS", message: expect.stringContaining("contains the model folder") });
    expect(await readdir(model)).not.toContain("st");
  });
});

describe("what stops a conversion, leaving no new file behind", () => {
  it("a folder whose .bin files and index disagree: MODEL_INCONSISTENT, naming the first problem, before the output exists", async () => {
    const dir = await copyOfModel((d) => writeIndex(d, "pytorch_model.bin.index.json", { metadata: { total_size: written.totalSize }, weight_map: { ...written.weightMap, "model.norm.weight": SHARD1 } }));
    const out = join(root, "never-made");
    await expect(convertFolder({ inDir: dir, outDir: out })).rejects.toMatchObject({
      code: "MODEL_INCONSISTENT",
      message: `${dir}: ${SHARD1}: lacks model.norm.weight, which pytorch_model.bin.index.json maps to it (it is in ${SHARD2}); run model-recover inspect ${dir} for every problem, and fix the folder before converting it`,
    });
    await expect(stat(out)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a shard convert.py would refuse (views sharing a storage, none whole): its error, and the shard converted before it is not published", async () => {
    const dir = await copyOfModel(async (d) => {
      await writeCheckpoint(join(d, SHARD2), { storages: [{ dtype: "F32", numel: 10 }], tensors: [{ name: "a", storage: 0, storageOffset: 0, shape: [6], stride: [1] }, { name: "b", storage: 0, storageOffset: 3, shape: [6], stride: [1] }] }, 13);
      const weightMap = Object.fromEntries([...Object.entries(written.weightMap).filter(([, shard]) => shard === SHARD1), ["a", SHARD2], ["b", SHARD2]]);
      await writeIndex(d, "pytorch_model.bin.index.json", { weight_map: weightMap });
    });
    await expect(convertFolder({ inDir: dir })).rejects.toMatchObject({ name: "TorchFormatError", code: "SHARED_STORAGE" });
    expect((await visible(dir)).filter((name) => name.endsWith(".safetensors"))).toEqual([]);
    expect(await readdir(join(dir, ".model-recover", "partial"))).toEqual([]);
  });

  it("Ctrl-C (an aborted signal) stops between files: InterruptedError, nothing published", async () => {
    const dir = await copyOfModel();
    const interrupt = new AbortController();
    const run = convertFolder({ inDir: dir, signal: interrupt.signal, onEvent: (e) => e.type === "shard-converted" && interrupt.abort() });
    await expect(run).rejects.toMatchObject({ code: "INTERRUPTED" });
    expect((await visible(dir)).filter((name) => name.startsWith("model"))).toEqual([]);
  });

  it("another run holding the output folder: OUT_BUSY, as for recover", async () => {
    const dir = await copyOfModel(async (d) => {
      await mkdir(join(d, ".model-recover"));
      await writeFile(join(d, ".model-recover", "lock"), JSON.stringify({ pid: process.pid, host: hostname(), started: "now" }));
    });
    await expect(convertFolder({ inDir: dir })).rejects.toMatchObject({ code: "OUT_BUSY" });
  });

  it("two shards convert.py's rename gives one name (a.bin, a.pt): refused before anything is written", async () => {
    const dir = await copyOfModel(async (d) => {
      await rename(join(d, SHARD2), join(d, "pytorch_model-00001-of-00002.pt"));
      const weightMap = Object.fromEntries(Object.entries(written.weightMap).map(([name, shard]) => [name, shard === SHARD2 ? "pytorch_model-00001-of-00002.pt" : shard]));
      await writeIndex(d, "pytorch_model.bin.index.json", { metadata: { total_size: written.totalSize }, weight_map: weightMap });
    });
    await expect(convertFolder({ inDir: dir })).rejects.toMatchObject({
      code: "MODEL_INCONSISTENT",
      message: `${dir}: pytorch_model-00001-of-00002.pt would be converted to model-00001-of-00002.safetensors, which is also ${SHARD1}'s output; rename the shards as transformers names them (pytorch_model-0000N-of-0000M.bin)`,
    });
    expect(await readdir(join(dir))).not.toContain(".model-recover");
  });

  it("a path that is not a folder, or a folder without .bin files", async () => {
    await expect(convertFolder({ inDir: join(model, SHARD1) })).rejects.toMatchObject({ code: "MODEL_NOT_FOLDER", message: expect.stringContaining("is not a folder; convert takes the recovered model folder") });
    await expect(convertFolder({ inDir: join(root, "elsewhere", "st") })).rejects.toMatchObject({ code: "NOTHING_TO_CONVERT" });
  });
});
