import { TorchFormatError } from "../errors.js";

/**
 * Newer torch writes a `byteorder` record ("little" or "big", serialization.py `_save`); without one
 * the data is little-endian on every machine that wrote LLaMA checkpoints. safetensors is
 * little-endian, so "big" would need every element swapped: refused instead.
 */
export function checkByteOrder(bytes: Uint8Array, file: string, record: string): void {
  const text = Buffer.from(bytes).toString("latin1");
  if (text === "little") return;
  if (text === "big") {
    throw new TorchFormatError("BIG_ENDIAN", file, `${record} says "big": a big-endian checkpoint, which is not supported (safetensors is little-endian)`);
  }
  throw new TorchFormatError("ZIP_INVALID", file, `${record} says ${JSON.stringify(text.slice(0, 20))}; torch writes "little" or "big"`);
}
