import { TorchSaveError } from "./errors.js";
import { centralEntryBytes, END_OF_ARCHIVE_BYTES, layRecord, type RecordLayout } from "./zip-records.js";

/** The `version` record torch 1.13.1 writes last (kProducedFileFormatVersion 3). */
export const VERSION_RECORD = Buffer.from("3\n", "latin1");

/**
 * The archive folder torch names after the file (inline_container.cc `basename`): the last path
 * component after '/' or '\', up to its last '.'. `pytorch_model-00001-of-00007.bin` ->
 * `pytorch_model-00001-of-00007`. torch refuses an empty one ("invalid file name").
 */
export function archiveNameFor(path: string): string {
  const base = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
  const dot = base.lastIndexOf(".");
  const name = dot === -1 ? base : base.slice(0, dot);
  if (name === "") throw new TorchSaveError("SAVE_BAD_FILE_NAME", path, `${path}: torch.save names the archive folder after the file name before its last ".", and here that is empty; choose a file name like pytorch_model.bin`);
  return name;
}

/** Every byte position of a torch.save file, known before any tensor byte is written. */
export interface TorchSaveLayout {
  readonly pickle: RecordLayout;
  /** One per storage, indexed like the state dict's storages. */
  readonly storages: readonly RecordLayout[];
  readonly version: RecordLayout;
  /** The records in file order: data.pkl, data/<key> with keys sorted as strings ("10" before "2"), version. */
  readonly inFileOrder: readonly RecordLayout[];
  readonly directoryOffset: number;
  readonly directoryBytes: number;
  readonly totalBytes: number;
}

/**
 * Lays out the records as torch.save writes them (serialization.py `_save`: data.pkl, then
 * `for key in sorted(serialized_storages.keys())`, then `version` at writeEndOfFile).
 */
export function layTorchSave(archiveName: string, pickleBytes: number, storageBytes: readonly number[]): TorchSaveLayout {
  const keysInFileOrder = storageBytes.map((_, index) => String(index)).sort();
  let offset = 0;
  const next = (record: string, size: number): RecordLayout => {
    const layout = layRecord(`${archiveName}/${record}`, offset, size);
    offset = layout.end;
    return layout;
  };
  const pickle = next("data.pkl", pickleBytes);
  const storages = new Array<RecordLayout>(storageBytes.length);
  for (const key of keysInFileOrder) storages[Number(key)] = next(`data/${key}`, storageBytes[Number(key)]!);
  const version = next("version", VERSION_RECORD.length);
  const inFileOrder = [pickle, ...keysInFileOrder.map((key) => storages[Number(key)]!), version];
  const directoryBytes = inFileOrder.reduce((sum, record) => sum + centralEntryBytes(record), 0);
  return { pickle, storages, version, inFileOrder, directoryOffset: offset, directoryBytes, totalBytes: offset + directoryBytes + END_OF_ARCHIVE_BYTES };
}
