import { join } from "node:path";
import { OutputStore } from "../cache/output-store.js";
import { InterruptedError } from "../errors.js";
import { ConversionState, inputsIdentity } from "../convert/conversion-state.js";
import { copyInto } from "../convert/write-conversion.js";
import type { FileStatus } from "../recover/events.js";
import { OutputFolder } from "../recover/output-folder.js";
import { checkRoom } from "../recover/preflight.js";
import { OutputWriter } from "../tensors/output-writer.js";
import { type ShardFormat, writeShardFile } from "../tensors/shard-file.js";
import type { TensorFile } from "../tensors/tensor-file.js";
import { deltaTensorBlocks, kernelFor } from "./delta-blocks.js";
import type { HalfAddKernel } from "./half-add.js";
import type { ApplyDeltaEvent } from "./delta-events.js";
import type { DeltaOutput } from "./delta-outputs.js";
import type { ParameterSum } from "./float32-blocks.js";
import type { DeltaTensor } from "./delta-plan.js";

export interface WriteDeltaOptions {
  outDir: string;
  outputs: readonly DeltaOutput[];
  /** Every file read: the identity an earlier run's outputs are kept by. */
  inputPaths: readonly string[];
  /** The weight files, checked unchanged before each shard is published. */
  files: readonly TensorFile[];
  /** The md5 a card publishes for an output, by name; null: none. */
  published: ReadonlyMap<string, string | null>;
  source: string;
  format: ShardFormat;
  settings: object;
  onEvent: (event: ApplyDeltaEvent) => void;
  blockBytes?: number;
  /** How a tensor's bytes are made; default: tuned = base + delta (deltaTensorBlocks). */
  tensorBytes?: (tensor: DeltaTensor, kernel: HalfAddKernel) => AsyncIterable<Uint8Array>;
  /**
   * weight-diff: every recovered value is added to it as it is made, and each file's share is kept in
   * the state, so a shard kept from an earlier run adds the share recorded with it (one recorded
   * without a share is made again).
   */
  sum?: ParameterSum;
  /** weight-diff: the sum's check once every output is verified; refused, the outputs are removed and forgotten. */
  acceptSum?: (total: number) => boolean;
  signal?: AbortSignal;
  store?: { dir: string };
  beforeWork?: () => Promise<void>;
}

/**
 * Claims the output folder, keeps what an earlier run from the same inputs verified, checks the
 * room, then writes every other output through the OutputWriter (temporary name, hashed as written,
 * checked, renamed), as convert-llama does.
 */
export async function writeDelta(options: WriteDeltaOptions): Promise<FileStatus[]> {
  const { outDir, outputs, onEvent } = options;
  const folder = await OutputFolder.claim(outDir);
  try {
    await folder.removeStalePartials(new Set());
    const state = await ConversionState.open(outDir, await inputsIdentity(options.inputPaths, { ...options.settings, format: options.format, outputs: [...options.published] }));
    const reused = new Map<string, FileStatus>();
    for (const output of outputs) {
      const kept = await state.reusable(output.name, output.bytes);
      if (!kept || (options.sum && kept.sum === undefined)) continue;
      if (options.sum) options.sum.value += kept.sum!;
      reused.set(output.name, kept);
    }
    onEvent({ type: "planned", files: outputs.map(({ name, bytes }) => ({ name, bytes, reused: reused.has(name) })), totalBytes: outputs.reduce((sum, o) => sum + o.bytes, 0), extras: [], absentClearFiles: [] });
    const neededBytes = outputs.filter((o) => !reused.has(o.name)).reduce((sum, o) => sum + o.bytes, 0);
    // The store is checked before any work, so that a store that cannot be used stops nothing half-way.
    const store = options.store ? await OutputStore.open(options.store.dir) : undefined;
    onEvent({ type: "room-checked", neededBytes, ...(await checkRoom(outDir, neededBytes)) });
    await options.beforeWork?.();
    if (options.signal?.aborted) throw new InterruptedError([]);
    const writer = new OutputWriter({ folder, expectedMd5: options.published, onEvent, source: options.source });
    const kernel = kernelFor(outputs.flatMap((o) => (o.kind === "shard" ? o.shard.tensors : [])), options.blockBytes);
    try {
      const files: FileStatus[] = [];
      for (const output of outputs) {
        const sumBefore = options.sum?.value ?? 0;
        const status = reused.get(output.name) ?? (await writeOne(writer, output, kernel, options));
        if (status.status === "verified" && !status.reused) {
          await state.record(status.file, options.sum ? options.sum.value - sumBefore : undefined);
          if (store && !options.acceptSum) await store.add(join(outDir, output.name), status.file.sha256!, status.file.bytes);
        }
        files.push(status);
      }
      return await settleSum(files, state, options, store);
    } finally {
      await writer.close();
    }
  } finally {
    await folder.release();
  }
}

/**
 * weight-diff's sum covers the whole model, so it is checked once every file verified: a sum refused
 * takes every output back off the disk (they are one model, and that model is wrong); accepted, the
 * outputs go to the store as any other verified output does.
 */
async function settleSum(files: FileStatus[], state: ConversionState, options: WriteDeltaOptions, store: OutputStore | undefined): Promise<FileStatus[]> {
  const { acceptSum, sum } = options;
  if (!acceptSum || !sum || !files.every((f) => f.status === "verified")) return files;
  const verified = files.flatMap((f) => (f.status === "verified" ? [f.file] : []));
  if (!acceptSum(sum.value)) {
    await state.discard(verified.map((f) => f.name));
    const message = "removed: the recovered parameters' sum is not the card's (see below)";
    return verified.map((f) => ({ status: "failed", name: f.name, bytes: f.bytes, message, code: "VERIFY_FAILED" }));
  }
  if (store) {
    for (const file of verified) await store.add(join(options.outDir, file.name), file.sha256!, file.bytes);
  }
  return files;
}

function writeOne(writer: OutputWriter, output: DeltaOutput, kernel: HalfAddKernel, options: WriteDeltaOptions): Promise<FileStatus> {
  if (output.kind === "text") return writer.writeText(output.name, output.text);
  if (output.kind === "copy") return writer.writeStream(output.name, output.bytes, (write) => copyInto(output.source, output.bytes, write, options.signal));
  const bytesOf = (tensor: DeltaTensor) => options.tensorBytes?.(tensor, kernel) ?? deltaTensorBlocks(tensor, kernel, options.signal, options.blockBytes, options.sum);
  // An input written to while it was read would make a shard that is nobody's model: checked before publishing.
  const unchanged = async () => {
    for (const file of options.files) await file.checkUnchanged();
  };
  return writer.writeStream(output.name, output.bytes, (write) => writeShardFile(output.shard, options.format, bytesOf, write), unchanged);
}
