import type { Dtype } from "../dtype.js";

export interface SafetensorsTensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** [begin, end) in bytes from the start of the data buffer (after the header). */
  dataOffsets: [number, number];
}

/** The reader's cap (safetensors/src/tensor.rs MAX_HEADER_SIZE); a header over it is refused. */
export const MAX_HEADER_BYTES = 100_000_000;

/**
 * The file's first bytes: the header length N as 8-byte little-endian, then N bytes of JSON padded
 * with spaces to a multiple of 8 (spec llama-patches.md §1). Entries are written as serde_json writes
 * the reference's structs: `__metadata__` first, then each tensor's dtype, shape, data_offsets, with no
 * whitespace; JSON.stringify escapes strings as serde_json does.
 */
export function encodeHeader(metadata: [string, string][], tensors: SafetensorsTensorInfo[]): Uint8Array {
  const members = [`"__metadata__":{${metadata.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`];
  for (const t of tensors) {
    members.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(",")}],"data_offsets":[${t.dataOffsets.join(",")}]}`);
  }
  const json = Buffer.from(`{${members.join(",")}}`, "utf8");
  const padded = Math.ceil(json.length / 8) * 8;
  const bytes = Buffer.alloc(8 + padded, 0x20);
  bytes.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(bytes, 8);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}
