import { KEY_CHUNK_BYTES } from "./format.js";
import type { KeyFile } from "./key-file.js";
import { xorInto } from "./xor.js";

/**
 * The keystream of one file (spec §1), applied to payload bytes at any offset and in any piece size.
 * Keeps one key chunk (10 MiB) in memory, so memory is flat whatever the file size. Encrypt and
 * decrypt are the same operation.
 */
export class Keystream {
  /** The key chunk in use, already repeated out to a full data chunk when the key chunk is short. */
  private readonly expandedKey = new Uint8Array(KEY_CHUNK_BYTES);
  private loadedSpan = -1;

  constructor(private readonly key: KeyFile) {}

  /** XOR `data`, which starts at payload offset `payloadOffset`, in place. */
  async apply(data: Uint8Array, payloadOffset: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const position = payloadOffset + done;
      const inChunk = position % KEY_CHUNK_BYTES;
      const run = Math.min(data.length - done, KEY_CHUNK_BYTES - inChunk);
      await this.load(Math.floor(position / KEY_CHUNK_BYTES));
      xorInto(data.subarray(done, done + run), this.expandedKey.subarray(inChunk, inChunk + run));
      done += run;
    }
  }

  private async load(payloadChunk: number): Promise<void> {
    const index = this.key.spanForPayloadChunk(payloadChunk).index;
    if (index === this.loadedSpan) return;
    await this.key.readExpanded(payloadChunk, this.expandedKey);
    this.loadedSpan = index;
  }
}
