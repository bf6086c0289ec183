import { join } from "node:path";
import { type ConvertGeometry, hfTensorBlocks, type OriginalRowReader, type PlannedTensor } from "@model-recover/llama-convert";
import { openRegularFile } from "@model-recover/safe-fs";
import type { PositionalWrite } from "@model-recover/torch-format";
import { OutputStore } from "../cache/output-store.js";
import { InputError, InterruptedError } from "../errors.js";
import type { FileStatus } from "../recover/events.js";
import { OutputFolder } from "../recover/output-folder.js";
import { checkRoom } from "../recover/preflight.js";
import { OutputWriter } from "../tensors/output-writer.js";
import { type ShardFormat, writeShardFile } from "../tensors/shard-file.js";
import type { TensorFile } from "../tensors/tensor-file.js";
import { ConversionState, inputsIdentity } from "./conversion-state.js";
import type { ConvertLlamaEvent } from "./llama-events.js";
import type { PlannedOutput } from "./output-plan.js";
import type { PublishedHashes } from "./published.js";

export interface WriteConversionOptions {
  outDir: string;
  outputs: readonly PlannedOutput[];
  inputPaths: readonly string[];
  files: readonly TensorFile[];
  geometry: ConvertGeometry;
  published: PublishedHashes;
  format: ShardFormat;
  room: boolean;
  onEvent: (event: ConvertLlamaEvent) => void;
  signal?: AbortSignal;
  store?: { dir: string };
  beforeWork?: () => Promise<void>;
}

/**
 * Claims the output folder, keeps what an earlier run from the same inputs verified, checks the
 * room, then writes every other output through the OutputWriter, checking after each shard that
 * no input changed under it.
 */
export async function writeConversion(options: WriteConversionOptions): Promise<{ files: FileStatus[] }> {
  const { outDir, outputs, onEvent } = options;
  const folder = await OutputFolder.claim(outDir);
  try {
    // Temporary outputs a killed run left: a conversion continues by whole files, never inside one.
    await folder.removeStalePartials(new Set());
    const state = await ConversionState.open(outDir, await inputsIdentity(options.inputPaths, { format: options.format, outputs: [...options.published.outputs] }));
    const reused = new Map<string, FileStatus>();
    for (const output of outputs) {
      const kept = await state.reusable(output.name, output.bytes);
      if (kept) reused.set(output.name, kept);
    }
    onEvent({ type: "planned", files: outputs.map(({ name, bytes }) => ({ name, bytes, reused: reused.has(name) })), totalBytes: outputs.reduce((sum, o) => sum + o.bytes, 0), extras: [], absentClearFiles: [] });
    const neededBytes = outputs.filter((o) => !reused.has(o.name)).reduce((sum, o) => sum + o.bytes, 0);
    // The store is checked before any work, so that a store that cannot be used stops nothing half-way.
    const store = options.store ? await OutputStore.open(options.store.dir) : undefined;
    if (options.room) onEvent({ type: "room-checked", neededBytes, ...(await checkRoom(outDir, neededBytes)) });
    await options.beforeWork?.();
    if (options.signal?.aborted) throw new InterruptedError([]);
    const writer = new OutputWriter({ folder, expectedMd5: options.published.outputs, onEvent, source: options.published.recipe ? `the card (${options.published.recipe.recipe.name})` : "the card" });
    try {
      const files: FileStatus[] = [];
      for (const output of outputs) {
        const status = reused.get(output.name) ?? (await writeOne(writer, output, options));
        if (status.status === "verified" && !status.reused) {
          await state.record(status.file);
          if (store) await store.add(join(outDir, output.name), status.file.sha256!, status.file.bytes);
        }
        files.push(status);
      }
      return { files };
    } finally {
      await writer.close();
    }
  } finally {
    await folder.release();
  }
}

async function writeOne(writer: OutputWriter, output: PlannedOutput, options: WriteConversionOptions): Promise<FileStatus> {
  if (output.kind === "text") return writer.writeText(output.name, output.text);
  if (output.kind === "copy") return writer.writeStream(output.name, output.bytes, (write) => copyInto(output.source, output.bytes, write, options.signal));
  const reader = rowReader(options.files);
  const bytesOf = (tensor: PlannedTensor) => interruptible(hfTensorBlocks(tensor, options.geometry, reader), options.signal);
  // An original written to while it was read would make a shard that verifies against nothing: checked before publishing.
  const unchanged = async () => {
    for (const file of options.files) await file.checkUnchanged();
  };
  return writer.writeStream(output.name, output.bytes, (write) => writeShardFile(output.shard, options.format, bytesOf, write), unchanged);
}

function rowReader(files: readonly TensorFile[]): OriginalRowReader {
  return { readRows: (shard, name, firstRow, rowCount) => files[shard]!.readRows(name, firstRow, rowCount) };
}

async function* interruptible(blocks: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): AsyncIterable<Uint8Array> {
  for await (const block of blocks) {
    if (signal?.aborted) throw new InterruptedError([]);
    yield block;
  }
}

/** A file copied as it is, read front to back through the descriptor that checked it is a regular file. */
export async function copyInto(source: string, bytes: number, write: PositionalWrite, signal: AbortSignal | undefined): Promise<void> {
  const { handle } = await openRegularFile(source, "tokenizer.model");
  try {
    const buffer = new Uint8Array(Math.min(Math.max(bytes, 1), 4 << 20));
    for (let done = 0; done < bytes; ) {
      if (signal?.aborted) throw new InterruptedError([]);
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, bytes - done), done);
      if (bytesRead === 0) throw new InputError("INPUT_CHANGED", `${source}: ends at byte ${done} of ${bytes}; it shrank while being copied`);
      await write(buffer.subarray(0, bytesRead), done);
      done += bytesRead;
    }
  } finally {
    await handle.close();
  }
}
