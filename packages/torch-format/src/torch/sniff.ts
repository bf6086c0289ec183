import { TorchFormatError } from "../errors.js";

/** torch.save's legacy format opens with a pickled magic number, 0x1950a86a20f9469cfc6c (serialization.py). */
const LEGACY_MAGIC = Uint8Array.of(0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19);
const ZIP_LOCAL_HEADER = Uint8Array.of(0x50, 0x4b, 0x03, 0x04);

/** Bytes enough to tell a zip from the legacy format. */
export const SNIFF_BYTES = 32;

/**
 * Refuses whatever is not a torch.save zip from its first bytes, naming what it is when that is
 * known: the legacy format (`_use_new_zipfile_serialization=False`, PyTorch < 1.6's default).
 */
export function checkZipStart(start: Uint8Array, file: string): void {
  if (startsWith(start, ZIP_LOCAL_HEADER)) return;
  if (start.length === 0) throw new TorchFormatError("NOT_A_CHECKPOINT", file, "the file is empty; a torch.save checkpoint is a zip");
  if (start[0] === 0x80 && indexOf(start, LEGACY_MAGIC) >= 0) {
    throw new TorchFormatError("LEGACY_FORMAT", file, "a checkpoint in torch.save's legacy (pre-1.6, non-zip) format, which is not supported; re-save it with torch.save(obj, path) from PyTorch 1.6 or later");
  }
  const found = Buffer.from(start.subarray(0, 4)).toString("hex");
  throw new TorchFormatError("NOT_A_CHECKPOINT", file, `starts with bytes ${found}, not a zip local header (504b0304); not a torch.save checkpoint`);
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, i) => bytes[i] === byte);
}

function indexOf(bytes: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(needle);
}
