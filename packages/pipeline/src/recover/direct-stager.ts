import { pageAlignedMemory } from "../aligned-memory.js";

/** O_DIRECT's unit (see temp-output.ts): offsets, lengths and buffer addresses aligned to 4 KiB. */
const ALIGN = 4096;
/** 4 MiB of staging: big enough that a direct write's syscall is amortised, small next to the slots. */
const STAGE_PAGES = 64;

export type PositionalWrite = (bytes: Uint8Array, position: number) => Promise<void>;

/**
 * Gathers positional writes that come in runs (the safetensors converter writes each tensor front to
 * back, tensors in the .bin's order, not the file's) into a page-aligned buffer, so that the output
 * can be written with O_DIRECT: a page-cache write of a 4 GB shard costs seconds of the CPU the
 * hashes need (temp-output.ts). Only a run's unaligned head and tail, a few KiB per tensor, go
 * through the page cache.
 */
export class DirectStager {
  private readonly stage = new Uint8Array(pageAlignedMemory(STAGE_PAGES, false));
  /** The output position of stage[0] (aligned), and how many bytes are staged. */
  private runStart = 0;
  private staged = 0;
  private active = false;

  constructor(private readonly write: PositionalWrite) {}

  async push(bytes: Uint8Array, position: number): Promise<void> {
    if (!this.active || position !== this.runStart + this.staged) {
      await this.flush();
      const head = Math.min(bytes.length, (ALIGN - (position % ALIGN)) % ALIGN);
      if (head > 0) await this.write(bytes.subarray(0, head), position);
      bytes = bytes.subarray(head);
      position += head;
      if (bytes.length === 0) return;
      this.active = true;
      this.runStart = position;
    }
    while (bytes.length > 0) {
      const taken = Math.min(bytes.length, this.stage.length - this.staged);
      this.stage.set(bytes.subarray(0, taken), this.staged);
      this.staged += taken;
      bytes = bytes.subarray(taken);
      if (this.staged === this.stage.length) {
        await this.write(this.stage, this.runStart);
        this.runStart += this.staged;
        this.staged = 0;
      }
    }
  }

  /** Write out everything staged (the aligned part directly, a partial last page buffered). */
  async flush(): Promise<void> {
    if (this.staged > 0) await this.write(this.stage.subarray(0, this.staged), this.runStart);
    this.active = false;
    this.staged = 0;
  }
}
