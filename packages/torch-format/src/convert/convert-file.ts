import { type FileHandle, open, rm } from "node:fs/promises";
import { dtypeBytes } from "../dtype.js";
import { TorchFormatError } from "../errors.js";
import { type PlannedTensor, type PlanOptions, planSafetensors } from "../safetensors/plan.js";
import { readTorchCheckpoint, type TorchStorage } from "../torch/read-checkpoint.js";
import { isContiguous, storageSpan } from "../torch/tensor.js";
import { readAt } from "../zip/zip-file.js";
import { gatherCOrder } from "./c-order.js";
import { writeFully } from "./write-fully.js";
import { conversionOf, type SafetensorsConversion } from "./conversion.js";

/** Copy buffer: large enough that a copy is I/O-bound, small enough to keep memory flat. */
const COPY_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * A strided view is reordered in memory, so its storage span is capped: 256 MiB holds a 16384 x 8192
 * fp16 matrix. LLaMA checkpoints hold none (the converters `.reshape` or `.contiguous()` them).
 */
export const MAX_REORDER_BYTES = 256 * 1024 * 1024;

/**
 * Converts a torch.save checkpoint file to a safetensors file by random-access reads: the plan from the
 * central directory and pickle, then each kept tensor's bytes copied in file order. Strided views are
 * copied in C order. `output` is a path (created or truncated; on failure the partial file is
 * removed) or a handle open for writing, which the caller keeps, closes and publishes or discards:
 * that is how a caller renames into place exactly the file that was written.
 */
export async function convertTorchFileToSafetensors(binPath: string, output: string | FileHandle, options: PlanOptions = {}): Promise<SafetensorsConversion> {
  const checkpoint = await readTorchCheckpoint(binPath);
  const storages = new Map(checkpoint.storages.map((s) => [s.key, s]));
  const plan = planSafetensors({ tensors: checkpoint.tensors, storageBytes: new Map(checkpoint.storages.map((s) => [s.key, s.byteLength])) }, binPath, options);
  const input = await open(binPath, "r");
  let opened: FileHandle | undefined;
  try {
    if (typeof output === "string") opened = await open(output, "w");
    const handle = opened ?? (output as FileHandle);
    await writeFully(handle, plan.header, 0);
    const buffer = new Uint8Array(COPY_CHUNK_BYTES);
    for (const tensor of plan.tensors) {
      await copyTensor(input, handle, tensor, storages.get(tensor.source.storageKey)!, plan.header.length, buffer, binPath);
    }
    await opened?.close();
    opened = undefined;
    return conversionOf(plan);
  } catch (error) {
    if (typeof output === "string") {
      await opened?.close();
      await rm(output, { force: true });
    }
    throw error;
  } finally {
    await input.close();
  }
}

async function copyTensor(input: FileHandle, output: FileHandle, tensor: PlannedTensor, storage: TorchStorage, dataStart: number, buffer: Uint8Array, file: string): Promise<void> {
  const { source } = tensor;
  const itemBytes = dtypeBytes(source.dtype);
  const span = storageSpan(source, itemBytes);
  const outputStart = dataStart + tensor.dataOffsets[0];
  if (!isContiguous(source)) {
    if (span.end - span.start > MAX_REORDER_BYTES) {
      throw new TorchFormatError("NON_CONTIGUOUS", file, `tensor ${JSON.stringify(source.name)} is a non-contiguous view spanning ${span.end - span.start} bytes of its storage; reordering more than ${MAX_REORDER_BYTES} in memory is refused`);
    }
    const bytes = await readAt(input, span.end - span.start, storage.dataOffset + span.start, file, `storage ${storage.record}`);
    const ordered = gatherCOrder(bytes, source.shape, source.stride, itemBytes);
    await writeFully(output, ordered, outputStart);
    return;
  }
  const length = tensor.dataOffsets[1] - tensor.dataOffsets[0];
  for (let done = 0; done < length; ) {
    const count = Math.min(buffer.length, length - done);
    const { bytesRead } = await input.read(buffer, 0, count, storage.dataOffset + span.start + done);
    if (bytesRead === 0) throw new TorchFormatError("ZIP_TRUNCATED", file, `${storage.record} ends early; the file is truncated`);
    await writeFully(output, buffer.subarray(0, bytesRead), outputStart + done);
    done += bytesRead;
  }
}
