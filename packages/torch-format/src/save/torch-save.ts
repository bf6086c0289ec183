import { open, type FileHandle } from "node:fs/promises";
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
}

/** The plan of a torch.save file without writing it: sizes and offsets for progress and checks. */
export function planTorchSave(path: string, spec: StateDictSpec, options: TorchSaveOptions = {}): { layout: TorchSaveLayout; pickle: Uint8Array } {
  checkStateDict(spec, path);
  const pickle = pickleStateDict(spec);
  const layout = layTorchSave(options.archiveName ?? archiveNameFor(path), pickle.length, spec.storages.map(storageBytes));
  return { layout, pickle };
}

/**
 * Writes `path` byte for byte as torch 1.13.1's `torch.save(state_dict, path)` does. Storages are
 * asked for in state-dict order (0, 1, 2, ...) and each chunk is written at its final offset, though
 * the file holds them in string order of their keys; every offset is known in advance because zip
 * records here are stored, never compressed. Each crc32 goes into the data descriptor after its
 * record and into the central directory at the end, so nothing is patched afterwards.
 */
export async function writeTorchSave(path: string, spec: StateDictSpec, source: StorageSource, options: TorchSaveOptions = {}): Promise<TorchSaveLayout> {
  const { layout, pickle } = planTorchSave(path, spec, options);
  const file = await open(path, "w");
  try {
    const crcs = new Map<RecordLayout, number>();
    crcs.set(layout.pickle, await writeRecord(file, layout.pickle, once(pickle), path));
    for (const [index, record] of layout.storages.entries()) crcs.set(record, await writeRecord(file, record, source(index), path));
    crcs.set(layout.version, await writeRecord(file, layout.version, once(VERSION_RECORD), path));
    const directory = Buffer.concat(layout.inFileOrder.map((record) => centralEntry(record, crcs.get(record)!)));
    const end = endOfArchive(layout.inFileOrder.length, layout.directoryOffset, directory.length);
    await writeAt(file, Buffer.concat([directory, end]), layout.directoryOffset);
  } finally {
    await file.close();
  }
  return layout;
}

async function writeRecord(file: FileHandle, record: RecordLayout, chunks: AsyncIterable<Uint8Array>, path: string): Promise<number> {
  await writeAt(file, record.localHeader, record.headerOffset);
  let crc = 0;
  let written = 0;
  let overflow = false;
  for await (const chunk of chunks) {
    overflow = written + chunk.length > record.size;
    if (overflow) break;
    await writeAt(file, chunk, record.dataOffset + written);
    crc = crc32(chunk, crc);
    written += chunk.length;
  }
  if (overflow || written !== record.size) {
    const found = overflow ? `more than that (${written} written before the chunk that overflowed)` : `only ${written}`;
    throw new TorchSaveError("SAVE_SOURCE_SIZE", path, `${path}: record ${record.name} should be ${record.size} bytes but its source gave ${found}; the state dict and the tensor bytes disagree`);
  }
  if (record.size > 0) await writeAt(file, dataDescriptor(record, crc), record.dataOffset + record.size);
  return crc;
}

async function writeAt(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
