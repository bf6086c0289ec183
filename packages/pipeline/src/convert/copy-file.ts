import { openRegularFile } from "@model-recover/safe-fs";
import type { TempOutput } from "../recover/temp-output.js";

const COPY_CHUNK_BYTES = 1024 * 1024;

/** Copies an input (opened only as a regular file) into a temporary output; returns the bytes written. */
export async function copyInto(source: string, output: TempOutput): Promise<number> {
  const { handle } = await openRegularFile(source, "file to copy");
  try {
    const buffer = new Uint8Array(COPY_CHUNK_BYTES);
    let position = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return position;
      await output.write(buffer.subarray(0, bytesRead), position);
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
}
