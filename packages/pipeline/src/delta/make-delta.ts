import { resolve } from "node:path";
import { checkHfFolder, describeProblem } from "@model-recover/hf-layout";
import { linkedEntryFolders, refuseOverlaps } from "../recover/overlaps.js";
import type { RecoverSummary } from "../recover/events.js";
import type { ShardFormat } from "../tensors/shard-file.js";
import type { ApplyDeltaEvent } from "./delta-events.js";
import { makeDeltaBlocks, type RoundTrip } from "./delta-make-blocks.js";
import { planDeltaOutputs } from "./delta-outputs.js";
import { planDelta } from "./delta-plan.js";
import { openWeightFolder, type WeightFolder } from "./weight-folder.js";
import { writeDelta } from "./write-delta.js";

export interface MakeDeltaOptions {
  /** The fine-tuned model folder. */
  tuned: string;
  /** LLaMA converted to Hugging Face format: what users will add the delta to. */
  base: string;
  outDir: string;
  format?: ShardFormat;
  maxShardBytes?: number;
  blockBytes?: number;
  onEvent?: (event: ApplyDeltaEvent) => void;
  signal?: AbortSignal;
}

export interface MakeDeltaSummary extends RecoverSummary {
  model: string;
  format: ShardFormat;
  tunedDir: string;
  baseDir: string;
  roundTrip: RoundTrip;
}

/**
 * The publish side of add-delta (spec llama-patches.md §4): `delta = tuned − base` per tensor in
 * float16 as FastChat's make_delta, written as the tuned model's folder (same shards, config and
 * tokenizer files), each block checked as it is made by adding it back to the base as apply_delta
 * does (see makeDeltaBlocks). The tuned model must have the base's shapes and dtypes (float16).
 */
export async function makeDelta(options: MakeDeltaOptions): Promise<MakeDeltaSummary> {
  const started = performance.now();
  const { onEvent = () => {} } = options;
  const format = options.format ?? "bin";
  const base = await openWeightFolder(resolve(options.base), "base");
  let tuned: WeightFolder | undefined;
  try {
    tuned = await openWeightFolder(resolve(options.tuned), "tuned");
    // Planned as tuned + (−base): the tuned tensor is read first, the base's is the one negated.
    const plan = planDelta(base, tuned, "add-delta");
    const tensors = plan.tensors.map((t) => ({ ...t, base: t.delta ?? t.base, delta: t.base }));
    await refuseOverlaps(options.outDir, [
      { path: base.dir, what: "base folder" },
      { path: tuned.dir, what: "fine-tuned model folder" },
      ...(await linkedEntryFolders(base.dir, "base folder")),
      ...(await linkedEntryFolders(tuned.dir, "fine-tuned model folder")),
    ]);
    const { outputs } = await planDeltaOutputs(tensors, tuned.dir, format, options.maxShardBytes);
    const trip: RoundTrip = { elements: 0, nudged: 0, inexact: 0 };
    const files = await writeDelta({
      outDir: options.outDir,
      outputs,
      inputPaths: [...base.files, ...tuned.files].map((f) => f.path),
      files: [...base.files, ...tuned.files],
      published: new Map(),
      source: "the card",
      format,
      settings: { make: "add-delta" },
      onEvent,
      tensorBytes: (tensor, kernel) => makeDeltaBlocks(tensor, kernel, trip, options.signal, options.blockBytes),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const ok = files.every((f) => f.status === "verified");
    const folderProblems = ok ? (await checkHfFolder(options.outDir)).problems.map(describeProblem) : [];
    const seconds = (performance.now() - started) / 1000;
    return { recipe: "add-delta", outDir: options.outDir, files, extras: [], absentClearFiles: [], folderProblems, verify: "full", ok, seconds, model: plan.model, format, tunedDir: tuned.dir, baseDir: base.dir, roundTrip: trip };
  } finally {
    await base.close();
    await tuned?.close();
  }
}
