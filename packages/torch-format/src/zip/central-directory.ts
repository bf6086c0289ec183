import { TorchFormatError } from "../errors.js";
import { decodeRecordName, readZip64Extra, U32_MAX, type Zip64Field, u16, u32, u64 } from "./fields.js";
import { checkStoredPlain } from "./local-header.js";

export const CENTRAL_ENTRY_SIGNATURE = 0x02014b50;
export const CENTRAL_ENTRY_FIXED_BYTES = 46;
export const END_SIGNATURE = 0x06054b50;
export const END_FIXED_BYTES = 22;
export const ZIP64_END_SIGNATURE = 0x06064b50;
export const ZIP64_END_FIXED_BYTES = 56;
export const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
export const ZIP64_LOCATOR_BYTES = 20;

/** One central directory entry (APPNOTE §4.3.12): where a record is and how long it is. */
export interface CentralEntry {
  name: string;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

export function centralEntryLength(fixed: Uint8Array, file: string, offset: number): number {
  if (u32(fixed, 0) !== CENTRAL_ENTRY_SIGNATURE) {
    throw new TorchFormatError("ZIP_INVALID", file, `no central directory entry at byte ${offset}`);
  }
  return CENTRAL_ENTRY_FIXED_BYTES + u16(fixed, 28) + u16(fixed, 30) + u16(fixed, 32);
}

export function decodeCentralEntry(bytes: Uint8Array, file: string, offset: number): CentralEntry {
  centralEntryLength(bytes, file, offset);
  const nameLength = u16(bytes, 28);
  const name = decodeRecordName(bytes.subarray(46, 46 + nameLength), file, `the central directory entry at byte ${offset}`);
  checkStoredPlain(u16(bytes, 8), u16(bytes, 10), file, name);
  if (u16(bytes, 34) !== 0 && u16(bytes, 34) !== 0xffff) {
    throw new TorchFormatError("ZIP_INVALID", file, `${name} is on disk ${u16(bytes, 34)}; torch.save writes one-disk archives`);
  }
  const fields: Record<Zip64Field, number> = { size: u32(bytes, 24), compressedSize: u32(bytes, 20), offset: u32(bytes, 42) };
  const wanted = (["size", "compressedSize", "offset"] as const).filter((field) => fields[field] === U32_MAX);
  const extra = bytes.subarray(46 + nameLength, 46 + nameLength + u16(bytes, 30));
  const zip64 = readZip64Extra(extra, wanted, file, name);
  for (const field of wanted) fields[field] = zip64[field]!;
  if (fields.size !== fields.compressedSize) {
    throw new TorchFormatError("ZIP_INVALID", file, `${name}: stored record with compressed size ${fields.compressedSize} but size ${fields.size}`);
  }
  return { name, size: fields.size, crc32: u32(bytes, 16), localHeaderOffset: fields.offset };
}

/** Where the central directory is, from the end record and, in a zip64 archive, its zip64 twin. */
export interface DirectoryLocation {
  entries: number;
  offset: number;
  size: number;
}

/** The end of central directory record, read from the file's last bytes (`tail` starts at `tailStart`). */
export function findEndRecord(tail: Uint8Array, tailStart: number, file: string): number {
  // The record is 22 bytes plus a comment of up to 65535; the last signature whose comment reaches
  // exactly to the end of the file is the one.
  for (let at = tail.length - END_FIXED_BYTES; at >= 0; at--) {
    if (u32(tail, at) === END_SIGNATURE && at + END_FIXED_BYTES + u16(tail, at + 20) === tail.length) return at;
  }
  const found = tail.length === 0 ? "an empty file" : `${tailStart + tail.length} bytes with no end record`;
  throw new TorchFormatError("ZIP_TRUNCATED", file, `the zip's end of central directory record is missing (found ${found}); the file is truncated or not a zip`);
}

export function decodeEndRecord(bytes: Uint8Array, file: string): DirectoryLocation & { zip64: boolean } {
  if (u16(bytes, 4) !== 0 || u16(bytes, 6) !== 0) throw new TorchFormatError("ZIP_INVALID", file, "a multi-disk zip; torch.save writes one-disk archives");
  const entries = u16(bytes, 10);
  const size = u32(bytes, 12);
  const offset = u32(bytes, 16);
  return { entries, size, offset, zip64: entries === 0xffff || size === U32_MAX || offset === U32_MAX };
}

/** The zip64 locator (20 bytes before the end record) gives the zip64 end record's offset. */
export function decodeZip64Locator(bytes: Uint8Array, file: string): number | undefined {
  if (u32(bytes, 0) !== ZIP64_LOCATOR_SIGNATURE) return undefined;
  return u64(bytes, 8, file, "the zip64 end record's offset");
}

export function decodeZip64EndRecord(bytes: Uint8Array, file: string): DirectoryLocation {
  if (u32(bytes, 0) !== ZIP64_END_SIGNATURE) throw new TorchFormatError("ZIP_INVALID", file, "the zip64 locator points at no zip64 end record");
  if (u32(bytes, 16) !== 0 || u32(bytes, 20) !== 0) throw new TorchFormatError("ZIP_INVALID", file, "a multi-disk zip64; torch.save writes one-disk archives");
  return {
    entries: u64(bytes, 32, file, "the zip64 entry count"),
    size: u64(bytes, 40, file, "the zip64 central directory size"),
    offset: u64(bytes, 48, file, "the zip64 central directory offset"),
  };
}

