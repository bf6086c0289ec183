import { open } from "node:fs/promises";
import { join } from "node:path";
import type { OriginalRowReader } from "../row-blocks.js";

/**
 * Rows read with pread from the raw float16 bytes llama_reference.py exported per shard and tensor:
 * a stand-in for the torch-format reader, so that the row math meets no checkpoint parsing.
 */
export function rawRowReader(rawDir: string, rowBytesOf: (name: string) => number): OriginalRowReader & { reads: number } {
  const reader = {
    reads: 0,
    async readRows(shard: number, name: string, firstRow: number, rowCount: number): Promise<Uint8Array> {
      reader.reads++;
      const rowBytes = rowBytesOf(name);
      const file = await open(join(rawDir, String(shard), name), "r");
      try {
        const bytes = new Uint8Array(rowCount * rowBytes);
        const { bytesRead } = await file.read(bytes, 0, bytes.length, firstRow * rowBytes);
        return bytes.subarray(0, bytesRead);
      } finally {
        await file.close();
      }
    },
  };
  return reader;
}
