import { type Algorithm, HashPool, type PooledHash } from "@model-recover/md5-manifest";
import { SlotPool } from "../recover/slot-pool.js";
import type { TempOutput } from "../recover/temp-output.js";
import { pageAlignedMemory, WASM_PAGE } from "../aligned-memory.js";

/**
 * Slots of shared memory the hash threads read from. 4 MiB slots written at multiples of 4 MiB keep
 * O_DIRECT writes aligned; 8 of them (32 MiB) let two slots hash and write while the next fill.
 */
const SLOT_BYTES = 4 << 20;
const SLOT_COUNT = 8;


/**
 * The shared memory and hash threads of a run, for one file after another. The memory is a shared
 * WebAssembly memory because that is page-aligned, as O_DIRECT needs its buffers; a plain
 * SharedArrayBuffer is not, and its writes fell back to the page cache (measured with perf on a
 * 30B-shaped conversion: 28% of the run was the kernel copying them there).
 */
export class SinkMemory {
  readonly bytes: Uint8Array;
  readonly hashes: HashPool;
  readonly slots: SlotPool;

  constructor(slotBytes = SLOT_BYTES, slotCount = SLOT_COUNT) {
    const buffer = pageAlignedMemory(Math.ceil((slotBytes * slotCount) / WASM_PAGE), true);
    this.bytes = new Uint8Array(buffer);
    this.hashes = new HashPool(buffer);
    this.slots = new SlotPool(0, slotBytes, slotCount);
  }

  close(): Promise<void> {
    return this.hashes.close();
  }
}

/**
 * A file written front to back: bytes are gathered into whole slots, and each full slot is hashed
 * (sha256, and md5 when asked, on their own threads) and written at its place while the next one
 * fills. So the file is hashed in the same pass that writes it, with memory bounded by the slots.
 */
export class HashingSink {
  private slot: number | undefined;
  private filled = 0;
  private accepted = 0;
  private written = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private writing: Promise<void> = Promise.resolve();
  private readonly streams: { algorithm: Algorithm; hash: PooledHash }[];
  private error: unknown;

  constructor(
    private readonly memory: SinkMemory,
    private readonly output: TempOutput,
    expectedBytes: number,
    algorithms: readonly Algorithm[],
    private readonly onBytes: (bytesWritten: number) => void = () => {},
  ) {
    this.streams = algorithms.map((algorithm) => ({ algorithm, hash: memory.hashes.open(algorithm, expectedBytes) }));
  }

  /** Accepts `bytes` for `position`, which must be where the previous write ended. */
  readonly write = async (bytes: Uint8Array, position: number): Promise<void> => {
    if (position !== this.accepted) throw new Error(`${this.output.finalPath}: bytes for position ${position} after ${this.accepted}; a sink is written front to back`);
    for (let done = 0; done < bytes.length; ) {
      if (this.error !== undefined) throw this.error;
      this.slot ??= await this.memory.slots.acquire();
      const take = Math.min(bytes.length - done, this.memory.slots.slotBytes - this.filled);
      this.memory.bytes.set(bytes.subarray(done, done + take), this.slot + this.filled);
      this.filled += take;
      done += take;
      if (this.filled === this.memory.slots.slotBytes) this.dispatch();
    }
    this.accepted += bytes.length;
  };

  /** Hash and write the slot that is filling; the slot is free again once both are done. */
  private dispatch(): void {
    const slot = this.slot!;
    const length = this.filled;
    const position = this.written;
    this.slot = undefined;
    this.filled = 0;
    this.written += length;
    const view = this.memory.bytes.subarray(slot, slot + length);
    // One write at a time: the file is written front to back anyway, and writes queued together
    // would hold every thread of libuv's pool while the reads that feed the next slots wait.
    this.writing = this.writing.then(() => this.output.write(view, position));
    const done = Promise.all([...this.streams.map((s) => s.hash.update(slot, length)), this.writing])
      .then(() => this.onBytes(position + length))
      .catch((error: unknown) => {
        this.error ??= error;
      })
      .finally(() => {
        this.memory.slots.release(slot);
        this.inFlight.delete(done);
      });
    this.inFlight.add(done);
  }

  /** Writes what is left and waits for every write and hash: the file's size and digests. */
  async finish(): Promise<{ bytes: number; md5?: string; sha256?: string }> {
    if (this.filled > 0 && this.error === undefined) this.dispatch();
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    if (this.slot !== undefined) this.memory.slots.release(this.slot);
    this.slot = undefined;
    // Digest even after an error: it frees the hash state on its thread.
    const digests: { md5?: string; sha256?: string } = {};
    for (const { algorithm, hash } of this.streams) digests[algorithm] = await hash.digest();
    if (this.error !== undefined) throw this.error;
    return { bytes: this.accepted, ...digests };
  }
}
