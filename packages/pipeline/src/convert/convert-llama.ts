import { basename, dirname } from "node:path";
import { checkHfFolder, describeProblem } from "@model-recover/hf-layout";
import { convertGeometry, knownLlamaSize, planTensors, shardCheckpoint } from "@model-recover/llama-convert";
import { statRegularFile } from "@model-recover/safe-fs";
import { InputError } from "../errors.js";
import { isTensorPipeline, loadPipeline, type TensorPipelineDefinition } from "../recipe/pipelines.js";
import type { LoadedTensorRecipe } from "../recipe/types.js";
import { linkedFolders, refuseOverlaps } from "../recover/overlaps.js";
import type { ShardFormat } from "../tensors/shard-file.js";
import { TensorFile } from "../tensors/tensor-file.js";
import type { ConvertLlamaEvent, ConvertLlamaSummary } from "./llama-events.js";
import { checkInputMd5 } from "./input-md5.js";
import { expectedShards, findOriginals } from "./originals.js";
import { planOutputs } from "./output-plan.js";
import { checkOriginalShapes } from "./probe.js";
import { publishedHashes } from "./published.js";
import { writeConversion } from "./write-conversion.js";

export interface ConvertLlamaOptions {
  /** The model folder of the original download (30B/), or the download root with a recipe's size in it. */
  originals: string;
  outDir: string;
  /** The recipe whose published hashes are checked; without one, the bundled recipe for the size params.json describes. */
  recipe?: LoadedTensorRecipe;
  /** Default: the pipeline's (bin). */
  format?: ShardFormat;
  /** save_pretrained's max_shard_size; the 2023 conversion used its default, 10 GB (10**10 bytes). */
  maxShardBytes?: number;
  /** Only params.json is read: the small files and the index are written, the shards only planned. */
  dryRun?: boolean;
  /** "full" (default): the inputs are hashed against their published md5s; "shapes": the shape probe alone. */
  verify?: "full" | "shapes";
  onEvent?: (event: ConvertLlamaEvent) => void;
  /** Aborting stops at the next row block; outputs already verified are kept for the next run. */
  signal?: AbortSignal;
  /** A content store of verified outputs (see OutputStore): each output verified here is added. */
  store?: { dir: string };
  /** Awaited once every input is checked and before any output is written. */
  beforeWork?: () => Promise<void>;
}

/**
 * Original LLaMA → Hugging Face folder, exactly as transformers d04ec99 with torch 1.13.1 made it
 * (spec llama-patches.md §3): the originals are found and their shapes probed against params.json
 * in milliseconds, hashed against their published md5s, then every output is made by row blocks
 * (pread across the originals), hashed as it is written, checked against the card and published.
 */
export async function convertLlama(options: ConvertLlamaOptions): Promise<ConvertLlamaSummary> {
  const started = performance.now();
  const { dryRun = false, onEvent = () => {} } = options;
  const setup = await prepare(options, onEvent);
  const { originals, published, geometry } = setup;
  const files = dryRun ? [] : await openAll(originals.shards);
  try {
    const plan = planTensors(geometry);
    if (setup.pipeline.steps.includes("input-shapes") && !dryRun) onEvent({ type: "shapes-checked", files: files.length, tensors: checkOriginalShapes(files, plan, geometry, originals.paramsPath) });
    const inputPaths = dryRun ? [originals.paramsPath] : [originals.paramsPath, originals.tokenizer!, ...originals.shards];
    const hash = options.verify !== "shapes" && setup.pipeline.steps.includes("input-md5");
    const inputs = await checkInputMd5(inputPaths, { published: published.inputs, hash, model: setup.model, onEvent, ...(options.signal ? { signal: options.signal } : {}) });
    const tokenizer = originals.tokenizer ? { path: originals.tokenizer, bytes: (await statRegularFile(originals.tokenizer, "tokenizer.model")).size } : undefined;
    const outputs = planOutputs(shardCheckpoint(plan, options.maxShardBytes), setup.format, originals.params, tokenizer, dryRun);
    const written = await writeConversion({ ...pick(options), outputs: outputs.write, inputPaths, files, geometry, published, format: setup.format, room: setup.pipeline.steps.includes("room"), onEvent });
    const ok = written.files.every((f) => f.status === "verified");
    const folderProblems = ok && !dryRun ? (await checkHfFolder(options.outDir)).problems.map(describeProblem) : [];
    const made = new Set([...outputs.write, ...outputs.notWritten].map((o) => o.name));
    const notMade = [...published.outputs].filter(([name]) => !made.has(name)).map(([name, md5]) => ({ name, md5, why: notMadeReason(name, originals.dir) }));
    const common = { recipe: published.recipe?.recipe.name ?? "convert-llama", outDir: options.outDir, extras: [], absentClearFiles: [], verify: "full" as const };
    return { ...common, files: written.files, folderProblems, ok, seconds: (performance.now() - started) / 1000, model: setup.model, format: setup.format, inputs, dryRun, notWritten: outputs.notWritten, notMade };
  } finally {
    await Promise.all(files.map((file) => file.close()));
  }
}

/**
 * Everything decided from params.json and the folder's listing: the originals, the published hashes,
 * the model's geometry and shard count (a missing or extra file is named here), the output's place.
 */
async function prepare(options: ConvertLlamaOptions, onEvent: (event: ConvertLlamaEvent) => void) {
  const pipeline = options.recipe?.pipeline ?? (await bundledPipeline());
  const originals = await findOriginals(options.originals, options.recipe?.base.model);
  const size = knownLlamaSize(originals.params);
  const published = await publishedHashes(size, originals.paramsPath, options.recipe);
  const { dim, nHeads, nLayers } = originals.params;
  const model = size ? `LLaMA-${size.name}` : `a LLaMA-shaped model (dim ${dim}, ${nHeads} heads, ${nLayers} layers)`;
  onEvent({ type: "originals-found", dir: originals.dir, model, shards: originals.shards.length, tokenizer: originals.tokenizer });
  const shardCount = options.dryRun ? (size?.shards ?? Math.max(1, originals.shards.length)) : expectedShards(originals, size);
  const geometry = convertGeometry(originals.params, shardCount, originals.paramsPath);
  if (!options.dryRun && !originals.tokenizer) throw new InputError("ORIGINALS_MISSING", `${originals.dir}: no tokenizer.model here or in ${dirname(originals.dir)}; the original download has it next to the model folders`);
  // An output folder holding the originals' folder also holds the download root's tokenizer.model.
  // An original kept in the output folder and linked in (tokenizer.model, a consolidated file) would be replaced by an output.
  const read = [originals.paramsPath, originals.tokenizer, ...originals.shards].filter((path): path is string => path !== undefined);
  const linked = await linkedFolders(read.map((path) => ({ path, what: `folder that ${basename(path)} of the originals links into` })));
  // The files too: tokenizer.model may lie next to the model folder, which --out may share.
  const files = read.map((path) => ({ path, what: `original ${basename(path)}` }));
  await refuseOverlaps(options.outDir, [{ path: originals.dir, what: "originals folder" }, ...linked, ...files]);
  return { pipeline, format: options.format ?? pipeline.output, originals, published, model, geometry };
}

/** The options writeConversion takes as they are. */
function pick({ outDir, signal, store, beforeWork }: ConvertLlamaOptions) {
  return { outDir, ...(signal ? { signal } : {}), ...(store ? { store } : {}), ...(beforeWork ? { beforeWork } : {}) };
}

async function bundledPipeline(): Promise<TensorPipelineDefinition> {
  const pipeline = await loadPipeline("convert-llama", "pipelines/convert-llama.json");
  if (!isTensorPipeline(pipeline)) throw new Error("pipelines/convert-llama.json is not a tensor pipeline");
  return pipeline;
}

async function openAll(paths: readonly string[]): Promise<TensorFile[]> {
  const files: TensorFile[] = [];
  try {
    for (const path of paths) files.push(await TensorFile.open(path, "original checkpoint"));
    return files;
  } catch (error) {
    await Promise.all(files.map((file) => file.close()));
    throw error;
  }
}

function notMadeReason(name: string, dir: string): string {
  if (name === "tokenizer.model") return `it is copied from the originals, and there is none in ${dir} or next to it`;
  if (name === "tokenizer.json") return "the fast tokenizer's file, which only the Rust tokenizers converter makes (transformers writes it on the first AutoTokenizer.from_pretrained(..., use_fast=True)); the model loads without it";
  return "not a file this conversion makes";
}
