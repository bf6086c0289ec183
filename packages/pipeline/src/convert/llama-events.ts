import type { RecoverEvent, RecoverSummary } from "../recover/events.js";
import type { ShardFormat } from "../tensors/shard-file.js";

/** An input of the conversion and what its published md5 said of it. */
export interface CheckedInput {
  name: string;
  path: string;
  bytes: number;
  /** Computed only where an md5 is published and the inputs are hashed (verify "full"). */
  md5?: string;
  /** The published md5; null when none is. */
  published: string | null;
}

/** What a conversion reports as it goes: the events of a recovery, and its own checks of the inputs. */
export type ConvertLlamaEvent =
  | RecoverEvent
  /** `shards`: the consolidated files found, before they are checked against the model's count. */
  | { type: "originals-found"; dir: string; model: string; shards: number; tokenizer: string | undefined }
  | { type: "shapes-checked"; files: number; tensors: number }
  | { type: "input-progress"; name: string; bytesDone: number; bytes: number }
  | { type: "input-checked"; input: CheckedInput };

/**
 * The end of a conversion, shaped as a recovery's summary (each output file with its size, md5 and
 * sha256, and the checks that passed), so that whoever runs conversions as steps can treat them alike.
 */
export interface ConvertLlamaSummary extends RecoverSummary {
  /** "LLaMA-30B", or the shape of a model of another size. */
  model: string;
  format: ShardFormat;
  inputs: CheckedInput[];
  dryRun: boolean;
  /** The shards a dry run did not write, with the size each will have. */
  notWritten: { name: string; bytes: number }[];
  /** Files the published converted folder has that this conversion does not make (tokenizer.json). */
  notMade: { name: string; md5: string | null; why: string }[];
}
