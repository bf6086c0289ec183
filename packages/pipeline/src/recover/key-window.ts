import { KEY_CHUNK_BYTES, type KeyFile, type XorKernel } from "@model-recover/xor-core";

/**
 * Two key chunks in the shared memory: the one the current data chunk is XORed with and the next,
 * read ahead. Every file of a release starts at key offset 0 (spec §1) and the engine walks all files
 * chunk by chunk together, so each key chunk is read once for the whole release.
 */
export class KeyWindow {
  private readonly loaded: { span: number; ready: Promise<void> }[];

  constructor(
    private readonly key: KeyFile,
    private readonly kernel: XorKernel,
    private readonly offsets: [number, number],
  ) {
    this.loaded = offsets.map(() => ({ span: -1, ready: Promise.resolve() }));
  }

  static readonly bytes = 2 * KEY_CHUNK_BYTES;

  /** The offset in the shared memory of the expanded key for payload chunk `chunk`; starts reading the next. */
  async offsetFor(chunk: number): Promise<number> {
    const slot = this.request(chunk);
    this.request(chunk + 1).ready.catch(() => undefined);
    await slot.ready;
    return this.offsets[chunk % 2]!;
  }

  private request(chunk: number): { span: number; ready: Promise<void> } {
    const slot = this.loaded[chunk % 2]!;
    const span = this.key.spanForPayloadChunk(chunk).index;
    if (slot.span !== span) {
      const offset = this.offsets[chunk % 2]!;
      slot.span = span;
      slot.ready = slot.ready.then(() => this.key.readExpanded(chunk, this.kernel.bytes.subarray(offset, offset + KEY_CHUNK_BYTES)).then(() => undefined));
    }
    return slot;
  }
}
