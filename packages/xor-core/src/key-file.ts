import type { FileHandle } from "node:fs/promises";
import { InputFileError, openRegularFile } from "@model-recover/safe-fs";
import { KeyError } from "./errors.js";
import { KEY_CHUNK_BYTES, keySpanForPayloadChunk, type KeySpan } from "./format.js";

/** The base checkpoint opened as a key (spec §1). Shared by every file of a release; holds no buffers. */
export class KeyFile {
  private constructor(
    readonly path: string,
    readonly size: number,
    private readonly handle: FileHandle,
  ) {}

  static async open(path: string): Promise<KeyFile> {
    const { handle, info: stat } = await openKeyFile(path, "base checkpoint");
    if (stat.size === 0) {
      await handle.close();
      // The published script loops forever or crashes on an empty key (spec §1).
      throw new KeyError("KEY_EMPTY", path, `${path}: base checkpoint is empty (0 bytes); point to the real consolidated.00.pth`);
    }
    return new KeyFile(path, stat.size, handle);
  }

  spanForPayloadChunk(payloadChunk: number): KeySpan {
    return keySpanForPayloadChunk(this.size, payloadChunk);
  }

  /** Read key span `span` into `into` (at least span.length bytes) and return the filled view. */
  async readSpan(span: KeySpan, into: Uint8Array): Promise<Uint8Array> {
    let filled = 0;
    while (filled < span.length) {
      const { bytesRead } = await this.handle.read(into, filled, span.length - filled, span.offset + filled);
      if (bytesRead === 0) {
        throw new KeyError("KEY_CHANGED", this.path, `${this.path}: base checkpoint shrank while in use (expected ${this.size} bytes)`);
      }
      filled += bytesRead;
    }
    return into.subarray(0, span.length);
  }

  /**
   * Read the key chunk for payload chunk `payloadChunk` into `into` (KEY_CHUNK_BYTES long), repeated
   * out to the full data chunk when it is shorter (spec §1: a short key chunk repeats inside a data
   * chunk). The XOR is then one straight pass. Returns the span read.
   */
  async readExpanded(payloadChunk: number, into: Uint8Array): Promise<KeySpan> {
    const span = this.spanForPayloadChunk(payloadChunk);
    await this.readSpan(span, into);
    for (let filled = span.length; filled < KEY_CHUNK_BYTES; filled *= 2) {
      into.copyWithin(filled, 0, Math.min(filled, KEY_CHUNK_BYTES - filled));
    }
    return span;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Open a key file as a regular file (never a FIFO or device, which would hang or never end). */
export async function openKeyFile(path: string, what: string): Promise<Awaited<ReturnType<typeof openRegularFile>>> {
  try {
    return await openRegularFile(path, what);
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    throw new KeyError(error.code === "INPUT_MISSING" || error.code === "INPUT_DANGLING_LINK" ? "KEY_MISSING" : "KEY_NOT_A_FILE", path, error.message);
  }
}
