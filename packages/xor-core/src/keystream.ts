import { KEY_CHUNK_BYTES } from "./format.js";
import type { KeySource } from "./key-source.js";
import { xorInto } from "./xor.js";

/**
 * The keystream of one file, applied to payload bytes at any offset and in any piece size, from any
 * key source. Keeps one key chunk (10 MiB) in memory, so memory is flat whatever the file size.
 * Encrypt and decrypt are the same operation.
 */
export class Keystream {
  /** The key chunk in use, as its source lays it out for a straight XOR. */
  private readonly window = new Uint8Array(KEY_CHUNK_BYTES);
  private loadedWindow = -1;

  constructor(private readonly key: KeySource) {}

  /** XOR `data`, which starts at payload offset `payloadOffset`, in place. */
  async apply(data: Uint8Array, payloadOffset: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const position = payloadOffset + done;
      const inChunk = position % KEY_CHUNK_BYTES;
      const run = Math.min(data.length - done, KEY_CHUNK_BYTES - inChunk);
      await this.load(Math.floor(position / KEY_CHUNK_BYTES));
      xorInto(data.subarray(done, done + run), this.window.subarray(inChunk, inChunk + run));
      done += run;
    }
  }

  private async load(payloadChunk: number): Promise<void> {
    const window = this.key.windowFor(payloadChunk);
    if (window === this.loadedWindow) return;
    await this.key.fill(payloadChunk, this.window);
    this.loadedWindow = window;
  }
}
