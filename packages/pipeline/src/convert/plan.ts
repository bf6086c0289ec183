import { stat } from "node:fs/promises";
import { join } from "node:path";
import { safetensorsFileName } from "@model-recover/torch-format";
import { InputError } from "../errors.js";
import { listFolder, readJsonObject, WEIGHT_LAYOUTS } from "../inspect/folder-listing.js";
import { inspectPath } from "../inspect/inspect.js";
import type { InspectProblem } from "../inspect/report.js";
import { safetensorsIndexJson } from "./safetensors-index.js";

export interface ConvertPlan {
  shards: { bin: string; safetensors: string; bytes: number }[];
  /** model.safetensors.index.json's text, for a sharded checkpoint. */
  index: string | null;
  /** Files to copy as they are when the output is another folder: all but weights, indexes and hidden files. */
  copies: { name: string; bytes: number }[];
  /** The names such a copy would take (copies, and any FIFO or socket among them, which refuseSpecialFiles names). */
  copyNames: string[];
  /** transformers' `_tied_weights_keys`, which the Hub's conversion passes to convert.py as discard_names. */
  discardNames: string[];
  warnings: InspectProblem[];
}

/**
 * What to convert, decided from `model-recover inspect` of the folder: its .bin files and their
 * index must be consistent (anything else stops here, before the output folder is touched); shapes
 * that config.json does not imply are passed on as warnings, since converting does not change them.
 */
export async function planConversion(inDir: string): Promise<ConvertPlan> {
  const info = await stat(inDir).catch(() => undefined);
  if (!info?.isDirectory()) throw new InputError("MODEL_NOT_FOLDER", `${inDir}: ${info ? "is not a folder" : "not found"}; convert takes the recovered model folder (config.json, pytorch_model*.bin and their index)`);
  const report = await inspectPath(inDir);
  const pytorch = report.weightSets.find((set) => set.format === "pytorch");
  if (!pytorch) throw new InputError("NOTHING_TO_CONVERT", `${inDir}: holds no ${WEIGHT_LAYOUTS.pytorch.single} and no ${WEIGHT_LAYOUTS.pytorch.index}; there is nothing to convert`);
  const blocking = report.problems.filter((p) => p.scope === "pytorch");
  if (blocking.length > 0) {
    const more = blocking.length > 1 ? ` (and ${blocking.length - 1} more)` : "";
    throw new InputError("MODEL_INCONSISTENT", `${inDir}: ${blocking[0]!.file}: ${blocking[0]!.message}${more}; run model-recover inspect ${inDir} for every problem, and fix the folder before converting it`);
  }
  const sizes = new Map(report.files.map((f) => [f.file, f.bytes]));
  const shards = pytorch.files.map((bin) => ({ bin, safetensors: safetensorsFileName(bin), bytes: sizes.get(bin)! }));
  refuseCollisions(inDir, shards);
  const index = pytorch.index ? await indexText(inDir, pytorch.index) : null;
  const architectures = report.config?.architectures ?? [];
  return {
    shards,
    index,
    ...(await nonWeightFiles(inDir)),
    discardNames: architectures.includes("LlamaForCausalLM") ? ["lm_head.weight"] : [],
    warnings: report.problems.filter((p) => p.scope === "config"),
  };
}

/**
 * convert.py's rename maps `a.bin` and `a.pt` to the same name, and an index may name a shard that
 * already ends in .safetensors: two outputs under one name, or an output over its own input, are
 * refused before anything is written.
 */
function refuseCollisions(inDir: string, shards: { bin: string; safetensors: string }[]): void {
  const claimed = new Map(shards.map((s) => [s.bin, `${s.bin} itself`]));
  for (const { bin, safetensors } of shards) {
    const holder = claimed.get(safetensors);
    if (holder) throw new InputError("MODEL_INCONSISTENT", `${inDir}: ${bin} would be converted to ${safetensors}, which is ${holder}; rename the shards as transformers names them (pytorch_model-0000N-of-0000M.bin)`);
    claimed.set(safetensors, `also ${bin}'s output`);
  }
}

/** The .bin index was just checked; it is read again for its exact keys and metadata. */
async function indexText(inDir: string, name: string): Promise<string> {
  const read = await readJsonObject(join(inDir, name), "index");
  if (!read.ok) throw new InputError("MODEL_INCONSISTENT", `${join(inDir, name)}: ${read.reason}`);
  return safetensorsIndexJson(read.value);
}

async function nonWeightFiles(inDir: string): Promise<Pick<ConvertPlan, "copies" | "copyNames">> {
  const { names, files } = await listFolder(inDir);
  const weights = Object.values(WEIGHT_LAYOUTS).flatMap((l) => [l.index, l.single]);
  const isWeight = (name: string) => weights.includes(name) || Object.values(WEIGHT_LAYOUTS).some((l) => l.shard.test(name));
  const copyNames = [...names].filter((name) => !name.startsWith(".") && !isWeight(name)).sort();
  const copies = await Promise.all(copyNames.filter((name) => files.has(name)).map(async (name) => ({ name, bytes: (await stat(join(inDir, name))).size })));
  return { copies, copyNames };
}
