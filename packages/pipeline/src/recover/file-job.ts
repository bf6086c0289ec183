import { open, type FileHandle } from "node:fs/promises";
import type { HashPool, PooledHash } from "@model-recover/md5-manifest";
import { KEY_CHUNK_BYTES, type XorKernel } from "@model-recover/xor-core";
import { InputError } from "../errors.js";
import type { FileTask } from "./plan.js";
import type { SlotPool } from "./slot-pool.js";
import { TempOutput } from "./temp-output.js";
import { algorithmsFor, type VerifyMode } from "./verify.js";

export interface JobShared {
  kernel: XorKernel;
  slots: SlotPool;
  hashes: HashPool;
  outDir: string;
  verify: VerifyMode;
  onBytes: (task: FileTask, bytesDone: number) => void;
}

/**
 * One output file as the engine walks the release chunk by chunk: its input, its temporary output
 * and its hash streams. Reads land in a slot of the shared memory, are XORed there, and the same
 * slot is hashed on the worker threads and written; the slot is free again when all have finished.
 */
export class FileJob {
  readonly chunks: number;
  private input?: FileHandle;
  output?: TempOutput;
  private streams: { algorithm: "md5" | "sha256"; hash: PooledHash }[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private bytesDone = 0;
  error?: unknown;

  constructor(
    readonly task: FileTask,
    private readonly shared: JobShared,
  ) {
    this.chunks = Math.max(1, Math.ceil(task.outputBytes / KEY_CHUNK_BYTES));
  }

  /**
   * Process payload chunk `chunk` with the keystream at `keyOffset` (none for a copy); resolves when
   * every piece of it is read and XORed (not yet hashed or written).
   */
  async processChunk(chunk: number, keyOffset: number | undefined): Promise<void> {
    if (this.error !== undefined) return;
    try {
      if (chunk === 0) await this.open();
      const start = chunk * KEY_CHUNK_BYTES;
      const end = Math.min(this.task.outputBytes, start + KEY_CHUNK_BYTES);
      for (let position = start; position < end && this.error === undefined; position += this.shared.slots.slotBytes) {
        await this.processPiece(position, Math.min(this.shared.slots.slotBytes, end - position), keyOffset === undefined ? undefined : keyOffset + (position - start));
      }
    } catch (error) {
      this.error ??= error;
    }
  }

  private async open(): Promise<void> {
    this.input = await open(this.task.readFrom ?? this.task.source, "r");
    this.output = await TempOutput.create(this.shared.outDir, this.task.entry.name, { direct: true });
    this.streams = algorithmsFor(this.task, this.shared.verify).map((algorithm) => ({ algorithm, hash: this.shared.hashes.open(algorithm, this.task.outputBytes) }));
  }

  private async processPiece(position: number, length: number, keyOffset: number | undefined): Promise<void> {
    const { kernel, slots } = this.shared;
    const slot = await slots.acquire();
    const view = kernel.bytes.subarray(slot, slot + length);
    try {
      await this.readFully(view, position);
    } catch (error) {
      slots.release(slot);
      throw error;
    }
    if (keyOffset !== undefined) kernel.xor(slot, keyOffset, length);
    const done = Promise.all([...this.streams.map((s) => s.hash.update(slot, length)), this.output!.write(view, position)])
      .then(() => {
        this.bytesDone += length;
        this.shared.onBytes(this.task, this.bytesDone);
      })
      .catch((error: unknown) => {
        this.error ??= error;
      })
      .finally(() => {
        slots.release(slot);
        this.inFlight.delete(done);
      });
    this.inFlight.add(done);
  }

  private async readFully(view: Uint8Array, position: number): Promise<void> {
    const offset = this.task.headerBytes;
    for (let filled = 0; filled < view.length; ) {
      const { bytesRead } = await this.input!.read(view, filled, view.length - filled, offset + position + filled);
      if (bytesRead === 0) {
        throw new InputError("ENC_SIZE", `${this.task.source}: shrank while being read (at ${offset + position + filled} of ${offset + this.task.outputBytes} bytes); is a download still running?`);
      }
      filled += bytesRead;
    }
  }

  /** Wait for the last writes and hashes; the digests, or the first error met. */
  async settle(): Promise<{ md5?: string; sha256?: string }> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    await this.input?.close();
    // Digest even after an error: it frees the hash state on its thread.
    const digests: { md5?: string; sha256?: string } = {};
    for (const { algorithm, hash } of this.streams) digests[algorithm] = await hash.digest();
    if (this.error !== undefined) throw this.error;
    return digests;
  }
}
