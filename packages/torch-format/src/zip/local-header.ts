import { TorchFormatError } from "../errors.js";
import { decodeRecordName, readZip64Extra, U32_MAX, u16, u32 } from "./fields.js";

export const LOCAL_HEADER_SIGNATURE = 0x04034b50;
export const LOCAL_HEADER_FIXED_BYTES = 30;
const DATA_DESCRIPTOR_SIGNATURE = 0x08074b50;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_DATA_DESCRIPTOR = 0x0008;

/**
 * One record's local header (APPNOTE §4.3.7). torch.save (miniz) sets flag bit 3 and writes zeros for
 * the CRC and sizes, which follow the data in a descriptor instead; its extra field is the "FB"
 * padding that puts the data on a 64-byte boundary, plus a zip64 field once the archive needs one.
 */
export interface LocalHeader {
  name: string;
  /** 30 + name + extra: the data starts this many bytes after the header's offset. */
  headerBytes: number;
  /** Flag bit 3: the CRC and sizes are in a data descriptor after the data, not here. */
  hasDescriptor: boolean;
  /** The record's size, when the header carries it (no descriptor). */
  size: number | undefined;
  crc32: number;
}

/** The name and extra lengths, from the 30 fixed bytes, so a reader knows how much more to fetch. */
export function localHeaderLength(fixed: Uint8Array, file: string, offset: number): number {
  if (u32(fixed, 0) !== LOCAL_HEADER_SIGNATURE) {
    throw new TorchFormatError("ZIP_INVALID", file, `no zip local header at byte ${offset} (found ${hex(fixed.subarray(0, 4))}, expected 504b0304)`);
  }
  return LOCAL_HEADER_FIXED_BYTES + u16(fixed, 26) + u16(fixed, 28);
}

export function decodeLocalHeader(bytes: Uint8Array, file: string, offset: number): LocalHeader {
  const headerBytes = localHeaderLength(bytes, file, offset);
  const nameLength = u16(bytes, 26);
  const name = decodeRecordName(bytes.subarray(30, 30 + nameLength), file, `the local header at byte ${offset}`);
  checkStoredPlain(u16(bytes, 6), u16(bytes, 8), file, name);
  const hasDescriptor = (u16(bytes, 6) & FLAG_DATA_DESCRIPTOR) !== 0;
  if (hasDescriptor) return { name, headerBytes, hasDescriptor, size: undefined, crc32: 0 };

  let size = u32(bytes, 22);
  let compressedSize = u32(bytes, 18);
  if (size === U32_MAX || compressedSize === U32_MAX) {
    // A local zip64 field always holds both sizes (APPNOTE §4.5.3).
    const extra = bytes.subarray(30 + nameLength, headerBytes);
    const zip64 = readZip64Extra(extra, ["size", "compressedSize"], file, name);
    size = zip64.size!;
    compressedSize = zip64.compressedSize!;
  }
  if (size !== compressedSize) {
    throw new TorchFormatError("ZIP_INVALID", file, `${name}: stored record with compressed size ${compressedSize} but size ${size}`);
  }
  return { name, headerBytes, hasDescriptor, size, crc32: u32(bytes, 14) };
}

/** torch.save stores records uncompressed and unencrypted; anything else is not its archive. */
export function checkStoredPlain(flags: number, method: number, file: string, name: string): void {
  if (flags & FLAG_ENCRYPTED) throw new TorchFormatError("ZIP_INVALID", file, `${name} is encrypted; torch.save never encrypts`);
  if (method !== 0) {
    throw new TorchFormatError("ZIP_INVALID", file, `${name} is compressed (method ${method}); torch.save stores records uncompressed (method 0)`);
  }
}

export type DescriptorMatch = { bytes: 16 | 24; crc32: number } | "short" | "mismatch";

/**
 * The data descriptor after a record of `size` bytes: signature, CRC, then both sizes as 4 bytes, or
 * as 8 once miniz has switched the archive to zip64 (seen in a 4 GiB torch.save: 24-byte descriptors
 * from the first record that needs zip64 on). For size > 0 the two forms cannot both match; for an
 * empty record (which miniz writes without a descriptor, but other writers may not) the 16-byte form
 * is the one followed by the next record's "PK" signature.
 */
export function matchDataDescriptor(bytes: Uint8Array, size: number): DescriptorMatch {
  if (bytes.length < (size === 0 ? 24 : 16)) return "short";
  if (u32(bytes, 0) !== DATA_DESCRIPTOR_SIGNATURE) return "mismatch";
  const short = u32(bytes, 8) === size && u32(bytes, 12) === size;
  if (short && (size > 0 || (bytes[16] === 0x50 && bytes[17] === 0x4b))) return { bytes: 16, crc32: u32(bytes, 4) };
  if (bytes.length < 24) return "short";
  if (holdsU64(bytes, 8, size) && holdsU64(bytes, 16, size)) return { bytes: 24, crc32: u32(bytes, 4) };
  return "mismatch";
}

function holdsU64(bytes: Uint8Array, at: number, value: number): boolean {
  return u32(bytes, at) === value % 0x100000000 && u32(bytes, at + 4) === Math.floor(value / 0x100000000);
}

export function hex32(value: number): string {
  return value.toString(16).padStart(8, "0");
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
