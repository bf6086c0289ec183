import { open } from "node:fs/promises";
import { positionalWriter } from "../convert/write-fully.js";
import { crc32 } from "../zip/crc32.js";
import { TorchSaveError } from "./errors.js";
import { pickleStateDict } from "./state-dict-pickle.js";
import { checkStateDict, type StateDictSpec, storageBytes } from "./state-dict.js";
import { archiveNameFor, layTorchSave, type TorchSaveLayout, VERSION_RECORD } from "./torch-layout.js";
import { centralEntry, dataDescriptor, endOfArchive, type RecordLayout } from "./zip-records.js";

/** The bytes of storage `index`, in order, in chunks of any size; the writer holds one chunk at a time. */
export type StorageSource = (index: number) => AsyncIterable<Uint8Array>;

export interface TorchSaveOptions {
  /** The archive folder inside the zip; torch derives it from the file name (see `archiveNameFor`). */
  readonly archiveName?: string;
  /**
   * The order storages are asked for. "state-dict" (the default): 0, 1, 2, ... "file": the order the
   * file holds them ("0", "1", "10", "11", "2", ...), so that every byte is written at the next
   * position and a sink can hash the file as it is written.
   */
  readonly storageOrder?: "state-dict" | "file";
}

/** Writes `bytes` at `position` (every byte; fs write() may write short). */
export type PositionalWrite = (bytes: Uint8Array, position: number) => Promise<void>;

/** The plan of a torch.save file without writing it: sizes and offsets for progress and checks. */
export function planTorchSave(path: string, spec: StateDictSpec, options: TorchSaveOptions = {}): { layout: TorchSaveLayout; pickle: Uint8Array } {
  checkStateDict(spec, path);
  const pickle = pickleStateDict(spec);
  const layout = layTorchSave(options.archiveName ?? archiveNameFor(path), pickle.length, spec.storages.map(storageBytes));
  return { layout, pickle };
}

/**
 * Writes `path` byte for byte as torch 1.13.1's `torch.save(state_dict, path)` does. Each chunk is
 * written at its final offset, whatever order the storages are asked for in, because zip records
 * here are stored, never compressed, so every offset is known in advance. Each crc32 goes into the
 * data descriptor after its record and into the central directory at the end, so nothing is
 * patched afterwards.
 */
export async function writeTorchSave(path: string, spec: StateDictSpec, source: StorageSource, options: TorchSaveOptions = {}): Promise<TorchSaveLayout> {
  const file = await open(path, "w");
  try {
    return await writeTorchSaveTo(positionalWriter(file), path, spec, source, options);
  } finally {
    await file.close();
  }
}

/**
 * writeTorchSave through `write` instead of a file it opens: `path` names the archive folder and the
 * file in messages. With `storageOrder: "file"` the writes come in ascending, gapless positions.
 */
export async function writeTorchSaveTo(write: PositionalWrite, path: string, spec: StateDictSpec, source: StorageSource, options: TorchSaveOptions = {}): Promise<TorchSaveLayout> {
  const { layout, pickle } = planTorchSave(path, spec, options);
  const crcs = new Map<RecordLayout, number>();
  crcs.set(layout.pickle, await writeRecord(write, layout.pickle, once(pickle), path));
  const indexes = layout.storages.map((_, index) => index);
  const order = options.storageOrder === "file" ? indexes.map(String).sort().map(Number) : indexes;
  for (const index of order) crcs.set(layout.storages[index]!, await writeRecord(write, layout.storages[index]!, source(index), path));
  crcs.set(layout.version, await writeRecord(write, layout.version, once(VERSION_RECORD), path));
  const directory = Buffer.concat(layout.inFileOrder.map((record) => centralEntry(record, crcs.get(record)!)));
  const end = endOfArchive(layout.inFileOrder.length, layout.directoryOffset, directory.length);
  await write(Buffer.concat([directory, end]), layout.directoryOffset);
  return layout;
}

async function writeRecord(write: PositionalWrite, record: RecordLayout, chunks: AsyncIterable<Uint8Array>, path: string): Promise<number> {
  await write(record.localHeader, record.headerOffset);
  let crc = 0;
  let written = 0;
  let overflow = false;
  for await (const chunk of chunks) {
    overflow = written + chunk.length > record.size;
    if (overflow) break;
    await write(chunk, record.dataOffset + written);
    crc = crc32(chunk, crc);
    written += chunk.length;
  }
  if (overflow || written !== record.size) {
    const found = overflow ? `more than that (${written} written before the chunk that overflowed)` : `only ${written}`;
    throw new TorchSaveError("SAVE_SOURCE_SIZE", path, `${path}: record ${record.name} should be ${record.size} bytes but its source gave ${found}; the state dict and the tensor bytes disagree`);
  }
  if (record.size > 0) await write(dataDescriptor(record, crc), record.dataOffset + record.size);
  return crc;
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
