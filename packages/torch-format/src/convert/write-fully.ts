import type { FileHandle } from "node:fs/promises";

/** fs write() may write fewer bytes than asked; a full disk then reports itself on the next call. */
export async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten === 0) throw new Error(`write() wrote nothing at byte ${position + done}`);
    done += bytesWritten;
  }
}

/** The `write` a TorchToSafetensorsStream needs, for an open file: every byte, at its position. */
export function positionalWriter(handle: FileHandle): (bytes: Uint8Array, position: number) => Promise<void> {
  return (bytes, position) => writeFully(handle, bytes, position);
}
