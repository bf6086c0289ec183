import { join } from "node:path";
import type { HashPool, PooledHash } from "@model-recover/md5-manifest";
import { KEY_CHUNK_BYTES, type XorKernel } from "@model-recover/xor-core";
import { InputError } from "../errors.js";
import type { FileTask } from "./plan.js";
import type { SlotPool } from "./slot-pool.js";
import type { OutputFolder } from "./output-folder.js";
import { ConvertedOutput } from "./converted-output.js";
import { openPayload, type PayloadReader } from "./payload-source.js";
import { TempOutput } from "./temp-output.js";
import { writesSource } from "./to-safetensors.js";
import { algorithmsFor, type VerifyMode } from "./verify.js";

export interface JobShared {
  folder: OutputFolder;
  kernel: XorKernel;
  slots: SlotPool;
  hashes: HashPool;
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
  private input?: PayloadReader;
  /** The recovered bytes under their temporary name (absent for a shard converted without --keep-bin). */
  output?: TempOutput;
  /** --to safetensors: the shard's converted form. */
  converted?: ConvertedOutput;
  /** Chunks whose pieces have all been read, XORed and handed to the hashes and the disk. */
  chunksDone = 0;
  /** Verification and publishing have begun; the file is no longer the engine's to clean up. */
  finished = false;
  private streams: { algorithm: "md5" | "sha256"; hash: PooledHash }[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private bytesDone = 0;
  error?: unknown;

  constructor(
    readonly task: FileTask,
    private readonly shared: JobShared,
    /** Bytes a crashed run made durable (a multiple of KEY_CHUNK_BYTES): rehashed, not recomputed. */
    readonly resumeFrom: number,
    private readonly inputs: string,
  ) {
    this.chunks = Math.max(1, Math.ceil(task.outputBytes / KEY_CHUNK_BYTES));
  }

  /**
   * Chunks below the resume point are already on disk: they are hashed from there, with no key and
   * no XOR. A shard converted without its `.bin` has nothing to read back: its chunks are decrypted
   * again (and pushed to the converter, which writes nothing below the resume point).
   */
  isRehash(chunk: number): boolean {
    return writesSource(this.task) && (chunk + 1) * KEY_CHUNK_BYTES <= this.resumeFrom;
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
        await this.processPiece(position, Math.min(this.shared.slots.slotBytes, end - position), keyOffset === undefined ? undefined : keyOffset + (position - start), this.isRehash(chunk));
      }
      if (this.error === undefined) this.chunksDone = chunk + 1;
    } catch (error) {
      this.error ??= error;
    }
  }

  private async open(): Promise<void> {
    this.input = await openPayload(this.task);
    const { folder } = this.shared;
    const name = this.task.entry.name;
    if (writesSource(this.task)) this.output = await TempOutput.create(folder.partialPath(name), join(folder.dir, name), { direct: true, resumeFrom: this.resumeFrom });
    const convert = this.task.convert;
    if (convert?.to === "safetensors-shard") this.converted = await ConvertedOutput.create(folder.partialPath(convert.name), join(folder.dir, convert.name), name, this.resumeFrom);
    this.streams = algorithmsFor(this.task, this.shared.verify).map((algorithm) => ({ algorithm, hash: this.shared.hashes.open(algorithm, this.task.outputBytes) }));
  }

  private async processPiece(position: number, length: number, keyOffset: number | undefined, rehash: boolean): Promise<void> {
    const { kernel, slots } = this.shared;
    const slot = await slots.acquire();
    const view = kernel.bytes.subarray(slot, slot + length);
    try {
      if (rehash) await readBack(this.output!, view, position);
      else await this.readFully(view, position);
    } catch (error) {
      slots.release(slot);
      throw error;
    }
    if (keyOffset !== undefined && !rehash) kernel.xor(slot, keyOffset, length);
    const write = [...(rehash || !this.output ? [] : [this.output.write(view, position)]), ...(this.converted ? [this.converted.write(view, position)] : [])];
    const done = Promise.all([...this.streams.map((s) => s.hash.update(slot, length)), ...write])
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
    await this.input!.read(view, this.task.headerBytes + position);
  }

  /** Wait for what is in flight, make it durable, and record how far this file got. */
  async checkpoint(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    if (this.error !== undefined || (!this.output && !this.converted)) return;
    await this.output?.sync();
    await this.converted?.sync();
    await this.shared.folder.saveProgress({ name: this.task.entry.name, durableBytes: this.chunksDone * KEY_CHUNK_BYTES, inputs: this.inputs });
  }

  /** Give up on this file: wait for its writes, then remove its temporary output and resume record. */
  async abandon(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    await this.input?.close().catch(() => undefined);
    await this.output?.discard();
    await this.converted?.discard();
    await this.shared.folder.forget(this.task.entry.name).catch(() => undefined);
  }

  /**
   * After its input failed: close the temporary output and keep it with the resume record of the last
   * checkpoint (not a new one: what came after it is cut off by the next run).
   */
  async keepForResume(): Promise<void> {
    await this.output?.suspend().catch(() => undefined);
    await this.converted?.suspend().catch(() => undefined);
  }

  /** Stop for now (Ctrl-C): checkpoint, and keep the temporary output for the next run. */
  async suspend(): Promise<void> {
    await this.checkpoint();
    await this.input?.close();
    await this.output?.suspend();
    await this.converted?.suspend();
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

/** The durable part of a resumed output, read back through the very descriptor that continues it. */
async function readBack(output: TempOutput, view: Uint8Array, at: number): Promise<void> {
  for (let filled = 0; filled < view.length; ) {
    const bytesRead = await output.read(view.subarray(filled), at + filled);
    if (bytesRead === 0) throw new InputError("OUT_NOT_WRITABLE", `${output.path}: shrank while being resumed; another program is using the output folder`);
    filled += bytesRead;
  }
}
