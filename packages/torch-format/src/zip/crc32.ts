import * as zlib from "node:zlib";

/**
 * CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320), the checksum every zip record carries, computed
 * incrementally over a record's chunks: zlib's where Node has it (20.15 and later), which runs at
 * memory speed; before that slice-by-8 tables, eight bytes per step, measured at about 0.9 GB/s on
 * the development machine, a third of a conversion's time when it ran on every shard.
 */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** Continues `crc` (0 for a new record) over `bytes`; returns the CRC of everything seen so far. */
export const crc32: (bytes: Uint8Array, crc?: number) => number = nativeCrc32 ? (bytes, crc = 0) => nativeCrc32(bytes, crc) : tableCrc32;

const TABLES = makeTables();

function makeTables(): Uint32Array[] {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const first = tables[0]!;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    first[n] = c >>> 0;
  }
  for (let t = 1; t < 8; t++) {
    const previous = tables[t - 1]!;
    const table = tables[t]!;
    for (let n = 0; n < 256; n++) table[n] = (previous[n]! >>> 8) ^ first[previous[n]! & 0xff]!;
  }
  return tables;
}

/** crc32 without zlib: the same function, for Node before 20.15. */
export function tableCrc32(bytes: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let c = ~crc >>> 0;
  let i = 0;
  const end8 = bytes.length - (bytes.length % 8);
  while (i < end8) {
    const lo = c ^ view.getUint32(i, true);
    const hi = view.getUint32(i + 4, true);
    c =
      t7[lo & 0xff]! ^
      t6[(lo >>> 8) & 0xff]! ^
      t5[(lo >>> 16) & 0xff]! ^
      t4[lo >>> 24]! ^
      t3[hi & 0xff]! ^
      t2[(hi >>> 8) & 0xff]! ^
      t1[(hi >>> 16) & 0xff]! ^
      t0[hi >>> 24]!;
    i += 8;
  }
  while (i < bytes.length) c = t0[(c ^ bytes[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
