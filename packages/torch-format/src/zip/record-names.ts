import { TorchFormatError } from "../errors.js";

/**
 * The records of a torch.save archive (spec llama-patches.md §2): all under one folder named after the
 * file, `<archive>/data.pkl`, `<archive>/data/<key>` per storage, `version`, and in newer torch
 * `byteorder` and `.data/serialization_id`. Nothing here is ever extracted to disk,
 * but a name that could escape the folder is refused all the same: no tool should meet it.
 */
export type RecordKind = { kind: "pickle" } | { kind: "storage"; key: string } | { kind: "byteorder" } | { kind: "other" };

const STORAGE_KEY = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,254}$/;

/** The archive folder: the first segment of the first record's name. */
export function archiveOf(firstName: string, file: string): string {
  const slash = firstName.indexOf("/");
  if (slash <= 0) {
    throw new TorchFormatError("ZIP_INVALID", file, `the first record ${JSON.stringify(firstName)} is not inside an archive folder (torch.save writes <archive>/data.pkl)`);
  }
  return firstName.slice(0, slash);
}

export function classifyRecord(name: string, archive: string, file: string): RecordKind {
  checkRecordName(name, archive, file);
  const rest = name.slice(archive.length + 1);
  if (rest === "data.pkl") return { kind: "pickle" };
  if (rest === "byteorder") return { kind: "byteorder" };
  if (rest.startsWith("data/")) return { kind: "storage", key: rest.slice(5) };
  return { kind: "other" };
}

function checkRecordName(name: string, archive: string, file: string): void {
  const segments = name.split("/");
  const unsafe = name.includes("\\") || /[\x00-\x1f]/.test(name) || segments.some((s) => s === "" || s === "." || s === "..");
  if (unsafe) {
    throw new TorchFormatError("UNSAFE_RECORD_NAME", file, `record ${JSON.stringify(name)} has an empty, "." or ".." segment, a backslash or a control character; torch.save writes plain <archive>/... names`);
  }
  if (segments[0] !== archive || segments.length < 2) {
    throw new TorchFormatError("UNSAFE_RECORD_NAME", file, `record ${JSON.stringify(name)} is outside the archive folder ${JSON.stringify(archive)}/`);
  }
}

/** The record a storage key names; a key that is not a plain name would point outside data/. */
export function storageRecordName(archive: string, key: string, file: string): string {
  if (!STORAGE_KEY.test(key)) {
    throw new TorchFormatError("UNSAFE_RECORD_NAME", file, `data.pkl names storage key ${JSON.stringify(key)}, which would escape ${archive}/data/ (torch.save writes keys like "0", "17")`);
  }
  return `${archive}/data/${key}`;
}
