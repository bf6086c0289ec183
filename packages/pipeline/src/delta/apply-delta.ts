import { join, resolve } from "node:path";
import { checkHfFolder, describeProblem } from "@model-recover/hf-layout";
import { KNOWN_LLAMA_SIZES } from "@model-recover/llama-convert";
import type { LoadedTensorRecipe } from "../recipe/types.js";
import { linkedEntryFolders, refuseOverlaps } from "../recover/overlaps.js";
import type { ShardFormat } from "../tensors/shard-file.js";
import type { ApplyDeltaEvent, ApplyDeltaSummary, ParameterSumCheck } from "./delta-events.js";
import { planDeltaOutputs } from "./delta-outputs.js";
import { type DeltaMath, type ExpectedBase, planDelta } from "./delta-plan.js";
import { openWeightFolder, type WeightFolder } from "./weight-folder.js";
import { writeDelta } from "./write-delta.js";

export interface ApplyDeltaOptions {
  /** LLaMA converted to Hugging Face format (config.json and .bin or safetensors shards). */
  base: string;
  /** The downloaded delta folder. */
  delta: string;
  outDir: string;
  /** add-delta (FastChat, Vicuna v1.1) or add-delta-v0 (Vicuna v0, StableVicuna: [PAD] first). */
  math: DeltaMath;
  /** The recipe: the base's size it expects and the md5s it publishes. */
  recipe?: LoadedTensorRecipe;
  /** Default: bin, as FastChat's save_pretrained wrote. */
  format?: ShardFormat;
  /** save_pretrained's max_shard_size; FastChat used its default, 10 GB. */
  maxShardBytes?: number;
  /** weight-diff: the sum of all recovered parameters a card publishes (Alpaca: 50637.1836 within 1e-2); default: the recipe's. */
  paramSum?: { expected: number; tolerance: number };
  /** Bytes of each input read per step (default 4 MiB); tests make it small to cross many blocks. */
  blockBytes?: number;
  onEvent?: (event: ApplyDeltaEvent) => void;
  /** Aborting stops at the next row block; outputs already verified are kept for the next run. */
  signal?: AbortSignal;
  store?: { dir: string };
  beforeWork?: () => Promise<void>;
}

/**
 * tuned = base + delta (spec llama-patches.md §4), tensor-exact with FastChat's apply_delta under
 * torch 1.13.1 and with flat memory: both folders' pickles and headers are read and every shape and
 * dtype checked in milliseconds, then each tuned shard is written block of rows by block (pread
 * across the base's and the delta's shards, whatever their sharding), hashed as it is written,
 * checked and published under its name.
 */
export async function applyDelta(options: ApplyDeltaOptions): Promise<ApplyDeltaSummary> {
  const started = performance.now();
  const { onEvent = () => {} } = options;
  const format = options.format ?? options.recipe?.pipeline.output ?? "bin";
  const base = await openWeightFolder(resolve(options.base), "base");
  let delta: WeightFolder | undefined;
  try {
    delta = await openWeightFolder(resolve(options.delta), "delta");
    const plan = planDelta(base, delta, options.math, expectedBase(options.recipe));
    onEvent({ type: "delta-checked", base: base.dir, delta: delta.dir, model: plan.model, tensors: plan.tensors.length, baseVocab: plan.baseVocab, vocab: plan.vocab, math: options.math });
    await refuseOverlaps(options.outDir, await inputPlaces(base, delta));
    const { outputs, fixes } = await planDeltaOutputs(plan.tensors, delta.dir, format, options.maxShardBytes);
    for (const fix of fixes) onEvent({ type: "delta-fixed", fix });
    const published = new Map((options.recipe?.recipe.files ?? []).map((f) => [f.name, f.md5]));
    const inputPaths = [...base.weightFiles.map((n) => join(base.dir, n)), ...delta.weightFiles.map((n) => join(delta!.dir, n)), ...outputs.flatMap((o) => (o.kind === "copy" ? [o.source] : []))];
    const paramSum = options.paramSum ?? options.recipe?.recipe.paramSum;
    const sum = paramSum ? { value: 0 } : undefined;
    // The sum is checked (by writeDelta) only once every file verified, kept ones by their recorded share.
    let checkedTotal: number | undefined;
    const acceptSum = (total: number) => {
      checkedTotal = total;
      return checkSum(paramSum!, total).ok === true;
    };
    const files = await writeDelta({
      outDir: options.outDir,
      outputs,
      inputPaths,
      files: [...base.files, ...delta.files],
      published,
      source: options.recipe ? `the card (${options.recipe.recipe.name})` : "the card",
      format,
      settings: { math: options.math },
      onEvent,
      ...(sum ? { sum, acceptSum } : {}),
      ...pick(options),
    });
    const sumCheck = paramSum ? checkSum(paramSum, checkedTotal) : undefined;
    const ok = files.every((f) => f.status === "verified") && sumCheck?.ok !== false;
    const folderProblems = ok ? (await checkHfFolder(options.outDir)).problems.map(describeProblem) : [];
    const checked = published.size > 0 && [...published.values()].some((md5) => md5 !== null);
    const made = new Set(outputs.map((o) => o.name));
    const notMade = (options.recipe?.recipe.files ?? []).filter((f) => !made.has(f.name)).map((f) => `${f.name}: the recipe lists it, but it was not made (the delta folder has no such file, or the shards split otherwise)`);
    const unchecked = [...(checked ? [] : [`no md5 is published for ${options.recipe ? `${options.recipe.recipe.name}'s` : "the"} recovered files: each is as the math makes it from these inputs, not checked against a card`]), ...notMade];
    return {
      recipe: options.recipe?.recipe.name ?? options.math,
      outDir: options.outDir,
      files,
      extras: [],
      absentClearFiles: [],
      folderProblems,
      verify: "full",
      ok,
      seconds: (performance.now() - started) / 1000,
      math: options.math,
      model: plan.model,
      format,
      baseDir: base.dir,
      deltaDir: delta.dir,
      baseVocab: plan.baseVocab,
      vocab: plan.vocab,
      fixes,
      unchecked,
      ...(sumCheck ? { paramSum: sumCheck } : {}),
    };
  } finally {
    await base.close();
    await delta?.close();
  }
}

function checkSum({ expected, tolerance }: { expected: number; tolerance: number }, got: number | undefined): ParameterSumCheck {
  return { expected, tolerance, got, ok: got === undefined ? undefined : Math.abs(got - expected) <= tolerance };
}

/** The size a recipe's base names (llama-7b-hf: "7B-hf"), to refuse a base of another size by its shapes. */
function expectedBase(recipe: LoadedTensorRecipe | undefined): ExpectedBase | undefined {
  const model = recipe?.base.model;
  const size = KNOWN_LLAMA_SIZES.find((s) => model === s.name || model === `${s.name}-hf`);
  return recipe && size ? { size, recipe: recipe.recipe.name } : undefined;
}

/** The two folders and the real folders their entries link into (a Hugging Face cache's blobs/, a tokenizer kept elsewhere). */
async function inputPlaces(base: WeightFolder, delta: WeightFolder) {
  return [
    { path: base.dir, what: "base folder" },
    { path: delta.dir, what: "delta folder" },
    ...(await linkedEntryFolders(base.dir, "base folder")),
    ...(await linkedEntryFolders(delta.dir, "delta folder")),
  ];
}

function pick({ signal, store, beforeWork, blockBytes }: ApplyDeltaOptions) {
  return { ...(blockBytes ? { blockBytes } : {}), ...(signal ? { signal } : {}), ...(store ? { store } : {}), ...(beforeWork ? { beforeWork } : {}) };
}
