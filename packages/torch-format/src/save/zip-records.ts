/**
 * The zip structures torch 1.13.1 writes through its bundled miniz 2.1.0 (third_party/miniz-2.1.0,
 * `mz_zip_writer_add_mem_ex_v2` and `mz_zip_writer_finalize_archive`) and caffe2's
 * inline_container.cc (`getPadding`). The writer is opened with MZ_ZIP_FLAG_WRITE_ZIP64, so:
 * - local headers are stored (method 0), version 0, time and date 0 (built without time support),
 *   flags 0x0800 (UTF-8) plus 0x0008 (a data descriptor follows) when the record is not empty, and
 *   crc32 and both sizes 0;
 * - a record of 0xFFFFFFFF bytes or more, or whose header starts at 0xFFFFFFFF or beyond, gets a zip64
 *   extra field (id 1) before torch's padding field: the size and a compressed size of 0 (miniz fills
 *   the local copy before it knows the compressed size), then the header offset, each only if large;
 *   its data descriptor then has 8-byte sizes;
 * - the padding field "FB" + length + 'Z'... puts every record's data at a multiple of 64;
 * - the zip64 end of central directory record and locator are always written.
 */
const U32_MAX = 0xffffffff;
const ALIGNMENT = 64;
const LOCAL_HEADER_BYTES = 30;
const CENTRAL_HEADER_BYTES = 46;
const FLAG_UTF8 = 0x0800;
const FLAG_DATA_DESCRIPTOR = 0x0008;

/** Where one record (one file in the zip) lies, and its local header. */
export interface RecordLayout {
  readonly name: string;
  readonly headerOffset: number;
  readonly dataOffset: number;
  readonly size: number;
  readonly localHeader: Uint8Array;
  /** Offset just past the record's data descriptor (or its data, for an empty record). */
  readonly end: number;
}

function needsZip64(size: number, headerOffset: number): boolean {
  return size >= U32_MAX || headerOffset >= U32_MAX;
}

/** The zip64 extended information field: the sizes if the size is large, the offset if it is. */
function zip64Extra(size: number, compressedSize: number, headerOffset: number): Buffer {
  const fields = [...(size >= U32_MAX ? [size, compressedSize] : []), ...(headerOffset >= U32_MAX ? [headerOffset] : [])];
  const extra = Buffer.alloc(4 + 8 * fields.length);
  extra.writeUInt16LE(1, 0);
  extra.writeUInt16LE(8 * fields.length, 2);
  for (const [i, value] of fields.entries()) extra.writeBigUInt64LE(BigInt(value), 4 + 8 * i);
  return extra;
}

export function layRecord(name: string, headerOffset: number, size: number): RecordLayout {
  const nameBytes = Buffer.from(name, "utf8");
  const zip64 = needsZip64(size, headerOffset) ? zip64Extra(size, 0, headerOffset) : Buffer.alloc(0);
  const unpadded = headerOffset + LOCAL_HEADER_BYTES + nameBytes.length + zip64.length + 4;
  const padding = (ALIGNMENT - (unpadded % ALIGNMENT)) % ALIGNMENT;
  const padField = Buffer.alloc(4 + padding, "Z");
  padField.write("FB", 0, "latin1");
  padField.writeUInt16LE(padding, 2);
  const header = Buffer.alloc(LOCAL_HEADER_BYTES);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(recordFlags(size), 6);
  header.writeUInt16LE(nameBytes.length, 26);
  header.writeUInt16LE(zip64.length + padField.length, 28);
  const localHeader = Buffer.concat([header, nameBytes, zip64, padField]);
  const dataOffset = headerOffset + localHeader.length;
  return { name, headerOffset, dataOffset, size, localHeader, end: dataOffset + size + descriptorBytes(size, headerOffset) };
}

function recordFlags(size: number): number {
  return size > 0 ? FLAG_UTF8 | FLAG_DATA_DESCRIPTOR : FLAG_UTF8;
}

function descriptorBytes(size: number, headerOffset: number): number {
  if (size === 0) return 0;
  return needsZip64(size, headerOffset) ? 24 : 16;
}

/** The data descriptor after a non-empty record's data: its crc32 and (twice) its size. */
export function dataDescriptor(record: RecordLayout, crc: number): Uint8Array {
  const wide = needsZip64(record.size, record.headerOffset);
  const out = Buffer.alloc(descriptorBytes(record.size, record.headerOffset));
  out.writeUInt32LE(0x08074b50, 0);
  out.writeUInt32LE(crc, 4);
  if (wide) {
    out.writeBigUInt64LE(BigInt(record.size), 8);
    out.writeBigUInt64LE(BigInt(record.size), 16);
  } else {
    out.writeUInt32LE(record.size, 8);
    out.writeUInt32LE(record.size, 12);
  }
  return out;
}

/** One central directory entry; made-by, attributes and comment are all 0. */
export function centralEntry(record: RecordLayout, crc: number): Uint8Array {
  const nameBytes = Buffer.from(record.name, "utf8");
  const zip64 = needsZip64(record.size, record.headerOffset) ? zip64Extra(record.size, record.size, record.headerOffset) : Buffer.alloc(0);
  const header = Buffer.alloc(CENTRAL_HEADER_BYTES);
  header.writeUInt32LE(0x02014b50, 0);
  header.writeUInt16LE(recordFlags(record.size), 8);
  header.writeUInt32LE(crc, 16);
  header.writeUInt32LE(Math.min(record.size, U32_MAX), 20);
  header.writeUInt32LE(Math.min(record.size, U32_MAX), 24);
  header.writeUInt16LE(nameBytes.length, 28);
  header.writeUInt16LE(zip64.length, 30);
  header.writeUInt32LE(Math.min(record.headerOffset, U32_MAX), 42);
  return Buffer.concat([header, nameBytes, zip64]);
}

/** Bytes of the central directory entry `centralEntry` makes for this record. */
export function centralEntryBytes(record: RecordLayout): number {
  const zip64Fields = (record.size >= U32_MAX ? 2 : 0) + (record.headerOffset >= U32_MAX ? 1 : 0);
  return CENTRAL_HEADER_BYTES + Buffer.byteLength(record.name, "utf8") + (zip64Fields > 0 ? 4 + 8 * zip64Fields : 0);
}

export const END_OF_ARCHIVE_BYTES = 56 + 20 + 22;

/** The zip64 end of central directory record, its locator, and the classic end record. */
export function endOfArchive(entries: number, directoryOffset: number, directoryBytes: number): Uint8Array {
  const zip64End = Buffer.alloc(56);
  zip64End.writeUInt32LE(0x06064b50, 0);
  zip64End.writeBigUInt64LE(44n, 4);
  zip64End.writeUInt16LE(0x031e, 12);
  zip64End.writeUInt16LE(0x002d, 14);
  zip64End.writeBigUInt64LE(BigInt(entries), 24);
  zip64End.writeBigUInt64LE(BigInt(entries), 32);
  zip64End.writeBigUInt64LE(BigInt(directoryBytes), 40);
  zip64End.writeBigUInt64LE(BigInt(directoryOffset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(directoryOffset + directoryBytes), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(entries, 0xffff), 8);
  end.writeUInt16LE(Math.min(entries, 0xffff), 10);
  end.writeUInt32LE(Math.min(directoryBytes, U32_MAX), 12);
  end.writeUInt32LE(Math.min(directoryOffset, U32_MAX), 16);
  return Buffer.concat([zip64End, locator, end]);
}
