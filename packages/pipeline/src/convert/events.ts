import type { InspectProblem } from "../inspect/report.js";

/** One .bin converted: what it became. */
export interface ConvertedShard {
  bin: string;
  safetensors: string;
  binBytes: number;
  /** The safetensors file's size. */
  bytes: number;
  tensors: number;
  /** Names sharing a storage with a kept tensor and so not written: dropped -> kept (in __metadata__). */
  droppedNames: Record<string, string>;
}

/** What a conversion reports as it goes. The library emits these; only the CLI draws them. */
export type ConvertEvent =
  | { type: "planned"; shards: { bin: string; safetensors: string; bytes: number }[]; copies: string[]; totalBytes: number; inPlace: boolean }
  | { type: "room-checked"; neededBytes: number; freeBytes: number }
  | { type: "shard-started"; bin: string; safetensors: string; bytes: number }
  | { type: "shard-converted"; shard: ConvertedShard }
  | { type: "published"; files: string[] };

export interface ConvertSummary {
  inDir: string;
  outDir: string;
  /** The safetensors files went next to the .bin files (no --out, or --out the folder itself). */
  inPlace: boolean;
  shards: ConvertedShard[];
  /** model.safetensors.index.json, for a sharded checkpoint. */
  index: string | null;
  /** Non-weight files copied as they are into another --out. */
  copied: string[];
  /** What inspect found that does not stop a conversion (shapes config.json does not imply). */
  warnings: InspectProblem[];
  seconds: number;
}
