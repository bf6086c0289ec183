import { type FileHandle, open } from "node:fs/promises";
import { type Dtype, dtypeBytes, isDtype } from "../dtype.js";
import { TorchFormatError } from "../errors.js";
import { readAt } from "../zip/zip-file.js";
import { MAX_HEADER_BYTES, type SafetensorsTensorInfo } from "./header-bytes.js";
import { type JsonObject, type JsonValue, parseStrictJson, StrictJsonError } from "./strict-json.js";

export interface SafetensorsHeader {
  /** N: the JSON's length in bytes, padding included. */
  headerLength: number;
  /** 8 + N: where the data buffer starts in the file. */
  dataStart: number;
  metadata: Record<string, string> | undefined;
  /** In the header's order. */
  tensors: SafetensorsTensorInfo[];
  dataBytes: number;
}

/** safetensors dtypes outside the ten this package writes (safetensors/src/tensor.rs `enum Dtype`). */
const OTHER_DTYPES = ["U16", "U32", "U64", "C64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F6_E2M3", "F6_E3M2", "F4"];

/**
 * Reads and checks a safetensors file's header; the data is never read. With `handle`, through that
 * descriptor (left open), as readTorchCheckpoint does.
 */
export async function readSafetensorsHeader(path: string, options: { handle?: FileHandle } = {}): Promise<SafetensorsHeader> {
  const handle = options.handle ?? (await open(path, "r"));
  try {
    const { size } = await handle.stat();
    if (size < 8) return parseSafetensorsHeader(await readAt(handle, size, 0, path, "the file"), size, path);
    const length = headerLength(await readAt(handle, 8, 0, path, "the header length"), size, path);
    return parseSafetensorsHeader(await readAt(handle, 8 + length, 0, path, "the header"), size, path);
  } finally {
    if (!options.handle) await handle.close();
  }
}

/** N from the first 8 bytes, refused over the reference reader's cap or past the end of the file. */
function headerLength(first8: Uint8Array, fileSize: number, file: string): number {
  const n = Buffer.from(first8.buffer, first8.byteOffset, 8).readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new TorchFormatError("HEADER_TOO_LARGE", file, `the header length says ${n} bytes; readers refuse more than ${MAX_HEADER_BYTES} (safetensors MAX_HEADER_SIZE)`);
  }
  if (8 + Number(n) > fileSize) throw new TorchFormatError("SAFETENSORS_INVALID", file, `the header length says ${n} bytes, but the file has ${fileSize - 8} after it`);
  return Number(n);
}

/**
 * Checks a safetensors header given the file's first bytes (at least 8 + N) and its size, by the rules
 * of the format (spec llama-patches.md §1, and what safetensors' Rust reader checks): N at most
 * 100,000,000; UTF-8 JSON starting with "{"; no duplicate names; a string-to-string `__metadata__`;
 * known dtypes; offsets covering the data buffer exactly (no holes, no overlaps), each tensor's size.
 */
export function parseSafetensorsHeader(start: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  if (start.length < 8) throw new TorchFormatError("SAFETENSORS_INVALID", file, `${start.length} bytes; a safetensors file starts with an 8-byte header length`);
  const length = headerLength(start, fileSize, file);
  if (start.length < 8 + length) throw new TorchFormatError("SAFETENSORS_INVALID", file, `given ${start.length} bytes of the file, not the ${8 + length} its header spans`);
  const json = start.subarray(8, 8 + length);
  const fail = invalid(file);
  let root: JsonValue = null;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(json);
    if (!text.startsWith("{")) fail(`the header starts with ${JSON.stringify(text.slice(0, 8))}, not "{"`);
    root = parseStrictJson(text);
  } catch (error) {
    if (error instanceof TorchFormatError) throw error;
    fail(`the header is not valid JSON: ${error instanceof StrictJsonError ? error.message : "not UTF-8"}`);
  }
  const entries = root as JsonObject;
  const metadata = readMetadata(entries.get("__metadata__"), fail);
  const tensors = [...entries].filter(([name]) => name !== "__metadata__").map(([name, info]) => readTensorInfo(name, info, file));
  const dataBytes = checkCoverage(tensors, fail);
  if (8 + json.length + dataBytes !== fileSize) {
    fail(`the tensors cover ${dataBytes} bytes of data, but the file has ${fileSize - 8 - json.length} after the header`);
  }
  return { headerLength: json.length, dataStart: 8 + json.length, metadata, tensors, dataBytes };
}

function readMetadata(value: JsonValue | undefined, fail: (problem: string) => never): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Map)) return fail("__metadata__ is not an object of strings");
  const metadata: Record<string, string> = {};
  for (const [key, text] of value) {
    if (typeof text !== "string") fail(`__metadata__.${key} is not a string`);
    Object.defineProperty(metadata, key, { value: text, enumerable: true, writable: true, configurable: true });
  }
  return metadata;
}

function invalid(file: string): (problem: string) => never {
  return (problem) => {
    throw new TorchFormatError("SAFETENSORS_INVALID", file, problem);
  };
}

function readTensorInfo(name: string, info: JsonValue, file: string): SafetensorsTensorInfo {
  const fail = invalid(file);
  const at = `tensor ${JSON.stringify(name)}`;
  if (!(info instanceof Map)) return fail(`${at} is not an object`);
  const dtype = info.get("dtype");
  if (typeof dtype !== "string" || !isDtype(dtype)) {
    if (typeof dtype === "string" && OTHER_DTYPES.includes(dtype)) {
      throw new TorchFormatError("UNSUPPORTED_DTYPE", file, `${at} has dtype ${dtype}, outside the ten this package handles`);
    }
    return fail(`${at} has dtype ${JSON.stringify(dtype ?? null)}, not a safetensors dtype (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL...)`);
  }
  const shape = integers(info.get("shape"), -1);
  const offsets = integers(info.get("data_offsets"), 2);
  if (!shape) fail(`${at} has a shape that is not a list of non-negative integers`);
  if (!offsets || offsets[1]! < offsets[0]!) fail(`${at} has data_offsets that are not [begin, end] with begin <= end`);
  return { name, dtype: dtype as Dtype, shape: shape!, dataOffsets: [offsets![0]!, offsets![1]!] };
}

function integers(value: JsonValue | undefined, length: number): number[] | undefined {
  if (!Array.isArray(value) || (length >= 0 && value.length !== length)) return undefined;
  return value.every((v) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0) ? (value as number[]) : undefined;
}

/** Sorted by offsets, each tensor must start where the previous ended, from 0, with its exact size. */
function checkCoverage(tensors: SafetensorsTensorInfo[], fail: (problem: string) => never): number {
  const sorted = [...tensors].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let end = 0;
  for (const t of sorted) {
    const [begin, stop] = t.dataOffsets;
    if (begin > end) fail(`tensor ${JSON.stringify(t.name)} starts at byte ${begin} of the data, but the tensor before ends at ${end}: a hole`);
    if (begin < end) fail(`tensor ${JSON.stringify(t.name)} starts at byte ${begin} of the data, inside the tensor before (which ends at ${end}): an overlap`);
    const bytes = t.shape.reduce((product, dim) => product * dim, dtypeBytes(t.dtype));
    if (stop - begin !== bytes) fail(`tensor ${JSON.stringify(t.name)} spans ${stop - begin} bytes, but ${t.dtype} of shape [${t.shape.join(", ")}] needs ${bytes}`);
    end = stop;
  }
  return end;
}
