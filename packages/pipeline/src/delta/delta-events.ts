import type { RecoverEvent, RecoverSummary } from "../recover/events.js";
import type { ShardFormat } from "../tensors/shard-file.js";
import type { DeltaMath } from "./delta-plan.js";

/** A change made to a file copied from the delta, said in the summary. */
export interface DeltaFix {
  file: string;
  what: string;
}

/** What applying a delta reports as it goes: a recovery's events, and its own checks. */
export type ApplyDeltaEvent =
  | RecoverEvent
  | { type: "delta-checked"; base: string; delta: string; model: string; tensors: number; baseVocab: number; vocab: number; math: DeltaMath }
  | { type: "delta-fixed"; fix: DeltaFix };

/**
 * weight_diff.py's naive integrity check (Alpaca): the sum of every recovered parameter within
 * `tolerance` of the published `expected`. `got` is undefined when shards were kept from an earlier
 * run (their values were not summed in this one).
 */
export interface ParameterSumCheck {
  expected: number;
  tolerance: number;
  got: number | undefined;
  ok: boolean | undefined;
}

/** The end of applying a delta, shaped as a recovery's summary (each file with its size and hashes). */
export interface ApplyDeltaSummary extends RecoverSummary {
  math: DeltaMath;
  /** "LLaMA-7B", or the shape of another LLaMA. */
  model: string;
  format: ShardFormat;
  baseDir: string;
  deltaDir: string;
  baseVocab: number;
  vocab: number;
  fixes: DeltaFix[];
  paramSum?: ParameterSumCheck;
  /** What no published hash could check ("no md5 is published for Vicuna's recovered files"). */
  unchecked: string[];
}
