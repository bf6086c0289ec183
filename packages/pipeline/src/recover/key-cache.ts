import { KEY_CHUNK_BYTES, type KeySource, type XorKernel } from "@model-recover/xor-core";

interface Buffer {
  offset: number;
  key?: string;
  ready: Promise<void>;
  pins: number;
  lastUse: number;
}

/**
 * Key chunks in the shared memory, by key source and window. Files that share a key (spec §1, §3)
 * share its chunks, so the engine walking all files chunk by chunk reads each key chunk once for the
 * whole release; a base folder (spec §2) gives each file its own. A chunk is pinned while XORs use
 * it and the least recently used unpinned one is reused.
 */
export class KeyCache {
  private readonly buffers: Buffer[];
  private readonly waiting: (() => void)[] = [];
  private clock = 0;

  constructor(
    private readonly kernel: XorKernel,
    firstOffset: number,
    count: number,
  ) {
    this.buffers = Array.from({ length: count }, (_, i) => ({ offset: firstOffset + i * KEY_CHUNK_BYTES, ready: Promise.resolve(), pins: 0, lastUse: 0 }));
  }

  static bytesFor(count: number): number {
    return count * KEY_CHUNK_BYTES;
  }

  /** The offset of payload chunk `chunk`'s keystream; call `release` when its XORs are done. */
  async acquire(source: KeySource, chunk: number): Promise<{ offset: number; release: () => void }> {
    const buffer = await this.bufferFor(source, chunk);
    buffer.pins++;
    try {
      await buffer.ready;
    } catch (error) {
      this.unpin(buffer);
      throw error;
    }
    return { offset: buffer.offset, release: () => this.unpin(buffer) };
  }

  /** Start reading `chunk` ahead if a buffer is free; never waits. */
  warm(source: KeySource, chunk: number): void {
    const key = `${source.id}#${source.windowFor(chunk)}`;
    if (this.buffers.some((b) => b.key === key)) return;
    const free = this.leastRecentlyUsedFree();
    if (free) this.load(free, key, source, chunk).ready.catch(() => undefined);
  }

  private async bufferFor(source: KeySource, chunk: number): Promise<Buffer> {
    const key = `${source.id}#${source.windowFor(chunk)}`;
    for (;;) {
      const loaded = this.buffers.find((b) => b.key === key);
      if (loaded) return this.touch(loaded);
      const free = this.leastRecentlyUsedFree();
      if (free) return this.load(free, key, source, chunk);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private load(buffer: Buffer, key: string, source: KeySource, chunk: number): Buffer {
    buffer.key = key;
    buffer.ready = source.fill(chunk, this.kernel.bytes.subarray(buffer.offset, buffer.offset + KEY_CHUNK_BYTES)).catch((error: unknown) => {
      buffer.key = undefined;
      throw error;
    });
    return this.touch(buffer);
  }

  private touch(buffer: Buffer): Buffer {
    buffer.lastUse = ++this.clock;
    return buffer;
  }

  private leastRecentlyUsedFree(): Buffer | undefined {
    return this.buffers.filter((b) => b.pins === 0).sort((a, b) => a.lastUse - b.lastUse)[0];
  }

  private unpin(buffer: Buffer): void {
    buffer.pins--;
    if (buffer.pins === 0) this.waiting.shift()?.();
  }
}
