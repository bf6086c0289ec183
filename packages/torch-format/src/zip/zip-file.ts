import { type FileHandle, open } from "node:fs/promises";
import { TorchFormatError } from "../errors.js";
import { SNIFF_BYTES, checkZipStart } from "../torch/sniff.js";
import {
  type CentralEntry, centralEntryLength, decodeCentralEntry, decodeEndRecord, decodeZip64EndRecord, decodeZip64Locator,
  type DirectoryLocation, END_FIXED_BYTES, findEndRecord, ZIP64_END_FIXED_BYTES, ZIP64_LOCATOR_BYTES,
} from "./central-directory.js";
import { crc32 } from "./crc32.js";
import { decodeLocalHeader, hex32, LOCAL_HEADER_FIXED_BYTES, localHeaderLength } from "./local-header.js";

/** A central directory of more than this is no checkpoint's (a LLaMA shard's is a few tens of KB). */
const MAX_DIRECTORY_BYTES = 64 * 1024 * 1024;

/**
 * A zip read by random access: the end records, the central directory and, on demand, one record's
 * local header or a small record's bytes. The weights themselves are never read here.
 */
export class ZipFile {
  private constructor(
    private readonly handle: FileHandle,
    readonly file: string,
    readonly fileSize: number,
    readonly directory: DirectoryLocation,
    readonly entries: CentralEntry[],
    /** Whether close() closes the handle: not when the caller opened it and keeps using it. */
    private readonly ownsHandle: boolean,
  ) {}

  static async open(path: string, file = path): Promise<ZipFile> {
    const handle = await open(path, "r");
    try {
      return await ZipFile.over(handle, file, true);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** A zip read through a handle the caller opened (and closes, unless `owned`). */
  static async over(handle: FileHandle, file: string, owned = false): Promise<ZipFile> {
    const { size } = await handle.stat();
    checkZipStart(await readAt(handle, Math.min(SNIFF_BYTES, size), 0, file, "the file's first bytes"), file);
    const directory = await locateDirectory(handle, size, file);
    const bytes = await readAt(handle, directory.size, directory.offset, file, "the central directory");
    return new ZipFile(handle, file, size, directory, decodeDirectory(bytes, directory, file), owned);
  }

  /** Where an entry's data starts, from its local header (whose extra field differs from the directory's). */
  async dataOffset(entry: CentralEntry): Promise<number> {
    const at = entry.localHeaderOffset;
    const fixed = await readAt(this.handle, LOCAL_HEADER_FIXED_BYTES, at, this.file, `${entry.name}'s local header`);
    const header = decodeLocalHeader(await readAt(this.handle, localHeaderLength(fixed, this.file, at), at, this.file, `${entry.name}'s local header`), this.file, at);
    if (header.name !== entry.name) {
      throw new TorchFormatError("ZIP_INVALID", this.file, `the central directory names ${entry.name} at byte ${at}, but the local header there names ${header.name}`);
    }
    const start = at + header.headerBytes;
    if (start + entry.size > this.directory.offset) {
      throw new TorchFormatError("ZIP_INVALID", this.file, `${entry.name} (${entry.size} bytes from byte ${start}) runs into the central directory at byte ${this.directory.offset}`);
    }
    return start;
  }

  /** A small record's bytes (at most `maxBytes`), checked against the directory's CRC-32. */
  async readSmall(entry: CentralEntry, maxBytes: number): Promise<Uint8Array> {
    if (entry.size > maxBytes) {
      throw new TorchFormatError("SIZE_MISMATCH", this.file, `${entry.name} is ${entry.size} bytes; torch.save writes it far under ${maxBytes}`);
    }
    const bytes = await readAt(this.handle, entry.size, await this.dataOffset(entry), this.file, entry.name);
    const crc = crc32(bytes);
    if (crc !== entry.crc32) {
      throw new TorchFormatError("ZIP_INVALID", this.file, `${entry.name} has CRC-32 ${hex32(crc)}, but the central directory says ${hex32(entry.crc32)}; the file is damaged`);
    }
    return bytes;
  }

  async close(): Promise<void> {
    if (this.ownsHandle) await this.handle.close();
  }
}

async function locateDirectory(handle: FileHandle, size: number, file: string): Promise<DirectoryLocation> {
  const tailStart = Math.max(0, size - (END_FIXED_BYTES + 0xffff + ZIP64_LOCATOR_BYTES));
  const tail = await readAt(handle, size - tailStart, tailStart, file, "the end of the file");
  const endAt = findEndRecord(tail, tailStart, file);
  let location: DirectoryLocation = decodeEndRecord(tail.subarray(endAt), file);
  const locatorAt = endAt - ZIP64_LOCATOR_BYTES;
  const zip64At = locatorAt >= 0 ? decodeZip64Locator(tail.subarray(locatorAt, endAt), file) : undefined;
  if (zip64At !== undefined) {
    location = decodeZip64EndRecord(await readAt(handle, ZIP64_END_FIXED_BYTES, zip64At, file, "the zip64 end record"), file);
  }
  const directoryEnd = zip64At ?? tailStart + endAt;
  if (location.offset + location.size > directoryEnd) {
    throw new TorchFormatError("ZIP_TRUNCATED", file, `the central directory (${location.size} bytes at byte ${location.offset}) runs past its end record at byte ${directoryEnd}; the file is truncated or damaged`);
  }
  if (location.size > MAX_DIRECTORY_BYTES) {
    throw new TorchFormatError("ZIP_INVALID", file, `a central directory of ${location.size} bytes; a checkpoint's is far under ${MAX_DIRECTORY_BYTES}`);
  }
  return location;
}

function decodeDirectory(bytes: Uint8Array, directory: DirectoryLocation, file: string): CentralEntry[] {
  const entries: CentralEntry[] = [];
  for (let at = 0; at < bytes.length; ) {
    if (at + 46 > bytes.length) break;
    const length = centralEntryLength(bytes.subarray(at), file, directory.offset + at);
    if (at + length > bytes.length) break;
    entries.push(decodeCentralEntry(bytes.subarray(at, at + length), file, directory.offset + at));
    at += length;
  }
  if (entries.length !== directory.entries) {
    throw new TorchFormatError("ZIP_INVALID", file, `the central directory holds ${entries.length} whole entries, but the end record counts ${directory.entries}`);
  }
  return entries;
}

/** Exactly `length` bytes at `position`, or a truncation error naming what was being read. */
export async function readAt(handle: FileHandle, length: number, position: number, file: string, what: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(bytes, filled, length - filled, position + filled);
    if (bytesRead === 0) {
      throw new TorchFormatError("ZIP_TRUNCATED", file, `${what} (${length} bytes at byte ${position}) runs past the end of the file; it is truncated`);
    }
    filled += bytesRead;
  }
  return bytes;
}
