import { TorchFormatError } from "../errors.js";

/** Little-endian fields of zip structures (APPNOTE.TXT §4.3), offsets and sizes kept as JS numbers. */
export function u16(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8);
}

export function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/** A 64-bit size or offset; beyond 2^53 it cannot be a real file position, so it is an error. */
export function u64(bytes: Uint8Array, at: number, file: string, what: string): number {
  const low = u32(bytes, at);
  const high = u32(bytes, at + 4);
  if (high >= 0x200000) {
    const value = (BigInt(high) << 32n) | BigInt(low);
    throw new TorchFormatError("SIZE_OVERFLOW", file, `${what} is ${value}, beyond 2^53 bytes; no real file is that large`);
  }
  return high * 0x100000000 + low;
}

export const U32_MAX = 0xffffffff;

export type Zip64Field = "size" | "compressedSize" | "offset";

/**
 * The zip64 extended-information extra field (id 0x0001) holds, in this order, the uncompressed size,
 * the compressed size and the local header offset, each only where the 32-bit field says 0xFFFFFFFF
 * (APPNOTE §4.5.3). `wanted` lists the fields that say so, in that order.
 */
export function readZip64Extra(extra: Uint8Array, wanted: Zip64Field[], file: string, record: string): Record<Zip64Field, number | undefined> {
  const found: Record<Zip64Field, number | undefined> = { size: undefined, compressedSize: undefined, offset: undefined };
  if (wanted.length === 0) return found;
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = u16(extra, at);
    const length = u16(extra, at + 2);
    if (at + 4 + length > extra.length) break;
    if (id === 0x0001) {
      if (length < wanted.length * 8) {
        throw new TorchFormatError("ZIP_INVALID", file, `${record}: its zip64 extra field holds ${length} bytes, but ${wanted.join(", ")} need ${wanted.length * 8}`);
      }
      wanted.forEach((field, i) => {
        found[field] = u64(extra, at + 4 + i * 8, file, `${record}: zip64 ${field}`);
      });
      return found;
    }
    at += 4 + length;
  }
  throw new TorchFormatError("ZIP_INVALID", file, `${record}: its sizes say 0xFFFFFFFF but it has no zip64 extra field`);
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

export function decodeRecordName(bytes: Uint8Array, file: string, where: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new TorchFormatError("ZIP_INVALID", file, `${where}: a record name that is not UTF-8`);
  }
}
