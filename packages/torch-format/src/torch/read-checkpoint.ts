import type { FileHandle } from "node:fs/promises";
import { TorchFormatError } from "../errors.js";
import { PICKLE_MAX_BYTES, SMALL_RECORD_MAX_BYTES } from "../pickle/limits.js";
import type { CentralEntry } from "../zip/central-directory.js";
import { archiveOf, classifyRecord, storageRecordName } from "../zip/record-names.js";
import { ZipFile } from "../zip/zip-file.js";
import { checkByteOrder } from "./byte-order.js";
import { readStateDict } from "./state-dict.js";
import type { TorchTensor } from "./tensor.js";

/** A storage record: `byteLength` bytes at `dataOffset` in the file. */
export interface TorchStorage {
  key: string;
  record: string;
  byteLength: number;
  dataOffset: number;
}

export interface TorchCheckpoint {
  file: string;
  /** The archive folder every record lives in (`pytorch_model-00001-of-00002`, `archive`...). */
  archive: string;
  /** In the state dict's order. */
  tensors: TorchTensor[];
  /** Every storage the pickle names, in file order. */
  storages: TorchStorage[];
}

/**
 * The tensor list of a torch.save checkpoint, from its central directory, its local headers and its
 * pickle alone: the weights are never read, so a 10 GB shard is listed in milliseconds. With
 * `handle`, the file is read through that descriptor (left open), so a caller that checked what it
 * opened (a regular file, not a FIFO) reads the tensors' bytes from the very file that was listed.
 */
export async function readTorchCheckpoint(path: string, options: { handle?: FileHandle } = {}): Promise<TorchCheckpoint> {
  const zip = options.handle ? await ZipFile.over(options.handle, path) : await ZipFile.open(path);
  try {
    const file = zip.file;
    const { archive, pickle, byteOrder, byName } = indexRecords(zip.entries, file);
    if (byteOrder) checkByteOrder(await zip.readSmall(byteOrder, SMALL_RECORD_MAX_BYTES), file, byteOrder.name);
    const stateDict = readStateDict(await zip.readSmall(pickle, PICKLE_MAX_BYTES), file, archive);
    const storages: TorchStorage[] = [];
    for (const [key, byteLength] of stateDict.storageBytes) {
      const record = storageRecordName(archive, key, file);
      const entry = byName.get(record);
      if (!entry) throw new TorchFormatError("RECORD_MISSING", file, `data.pkl names storage ${JSON.stringify(key)}, but the archive has no record ${record}`);
      if (entry.size !== byteLength) {
        throw new TorchFormatError("SIZE_MISMATCH", file, `${record} holds ${entry.size} bytes, but data.pkl declares a storage of ${byteLength} bytes`);
      }
      storages.push({ key, record, byteLength, dataOffset: await zip.dataOffset(entry) });
    }
    storages.sort((a, b) => a.dataOffset - b.dataOffset);
    return { file, archive, tensors: stateDict.tensors, storages };
  } finally {
    await zip.close();
  }
}

function indexRecords(entries: CentralEntry[], file: string) {
  if (entries.length === 0) throw new TorchFormatError("RECORD_MISSING", file, "an empty zip; a torch.save checkpoint holds <archive>/data.pkl");
  const archive = archiveOf(entries[0]!.name, file);
  const byName = new Map<string, CentralEntry>();
  let pickle: CentralEntry | undefined;
  let byteOrder: CentralEntry | undefined;
  for (const entry of entries) {
    if (byName.has(entry.name)) throw new TorchFormatError("ZIP_INVALID", file, `two records named ${entry.name}`);
    byName.set(entry.name, entry);
    const kind = classifyRecord(entry.name, archive, file).kind;
    if (kind === "pickle") pickle = entry;
    if (kind === "byteorder") byteOrder = entry;
  }
  if (!pickle) throw new TorchFormatError("RECORD_MISSING", file, `the archive has no ${archive}/data.pkl; not a torch.save checkpoint`);
  return { archive, pickle, byteOrder, byName };
}
