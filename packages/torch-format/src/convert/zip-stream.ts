import { TorchFormatError } from "../errors.js";
import { checkZipStart, SNIFF_BYTES } from "../torch/sniff.js";
import { CENTRAL_ENTRY_SIGNATURE } from "../zip/central-directory.js";
import { crc32 } from "../zip/crc32.js";
import { u32 } from "../zip/fields.js";
import { decodeLocalHeader, hex, hex32, LOCAL_HEADER_FIXED_BYTES, LOCAL_HEADER_SIGNATURE, localHeaderLength, matchDataDescriptor } from "../zip/local-header.js";
import { ByteQueue } from "./byte-queue.js";
import { DirectoryCheck } from "./directory-check.js";

/** How a record's data is taken: gathered in memory (small records), or passed on as it streams. */
export type RecordTake = { collect: number } | { pass: number };

export interface RecordHandler {
  /** A record starts; `headerSize` is its size if the local header states it (no data descriptor). */
  begin(name: string, headerSize: number | undefined): RecordTake;
  /** The next bytes of a passed record; views of the pushed chunk, valid until the promise settles. */
  data(bytes: Uint8Array): Promise<void>;
  /** A record is complete; a collected record's bytes come with it. */
  end(collected: Uint8Array | undefined): Promise<void>;
}

type State =
  | { at: "start" | "header" | "directory" | "done" }
  | { at: "pass"; name: string; remaining: number; size: number; descriptor: boolean }
  | { at: "collect"; name: string; max: number; size: number | undefined; crc32: number; collected: Uint8Array; filled: number; scanFrom: number }
  | { at: "descriptor"; name: string; size: number };

/**
 * A zip read front to back as its bytes arrive, for torch.save's layout: local header, data, data
 * descriptor (flag bit 3: miniz writes zero sizes in the header), record after record, then the
 * central directory and end records, which are checked against what streamed past.
 */
export class ZipStream {
  private readonly queue = new ByteQueue();
  private state: State = { at: "start" };
  private pushed = 0;
  private readonly directory: DirectoryCheck;

  constructor(
    private readonly handler: RecordHandler,
    private readonly file: string,
  ) {
    this.directory = new DirectoryCheck(file);
  }

  private get position(): number {
    return this.pushed - this.queue.length;
  }

  async push(chunk: Uint8Array): Promise<void> {
    this.queue.append(chunk);
    this.pushed += chunk.length;
    while (await this.step(false));
    this.queue.detach();
  }

  async end(): Promise<void> {
    while (await this.step(true));
    if (this.state.at !== "done") {
      const inside = "name" in this.state ? `inside record ${this.state.name}` : `in the ${this.state.at === "directory" ? "central directory" : "zip headers"}`;
      throw new TorchFormatError("ZIP_TRUNCATED", this.file, `the stream ends ${inside} at byte ${this.position}; the checkpoint is truncated`);
    }
  }

  /** One move of the parser; false when it needs more bytes (or, at the end, can go no further). */
  private async step(ended: boolean): Promise<boolean> {
    const state = this.state;
    switch (state.at) {
      case "start":
        if (this.queue.length < SNIFF_BYTES && !ended) return false;
        checkZipStart(this.queue.peek(Math.min(SNIFF_BYTES, this.queue.length)), this.file);
        this.state = { at: "header" };
        return true;
      case "header": return this.header();
      case "pass": return this.pass(state);
      case "collect": return this.collect(state);
      case "descriptor": return this.descriptor(state, ended);
      case "directory": return this.directoryStep();
      case "done":
        if (this.queue.length > 0) throw new TorchFormatError("ZIP_INVALID", this.file, `bytes after the zip's end record, at byte ${this.position}`);
        return false;
    }
  }

  private header(): boolean {
    if (this.queue.length < 4) return false;
    const signature = u32(this.queue.peek(4), 0);
    if (signature === CENTRAL_ENTRY_SIGNATURE) {
      this.state = { at: "directory" };
      return true;
    }
    if (signature !== LOCAL_HEADER_SIGNATURE) {
      throw new TorchFormatError("ZIP_INVALID", this.file, `neither a local header nor the central directory at byte ${this.position} (found ${hex(this.queue.peek(4))})`);
    }
    if (this.queue.length < LOCAL_HEADER_FIXED_BYTES) return false;
    const length = localHeaderLength(this.queue.peek(LOCAL_HEADER_FIXED_BYTES), this.file, this.position);
    if (this.queue.length < length) return false;
    const offset = this.position;
    const header = decodeLocalHeader(this.queue.take(length), this.file, offset);
    const take = this.handler.begin(header.name, header.size);
    const descriptor = header.hasDescriptor;
    if ("pass" in take) {
      this.directory.record(header.name, offset, take.pass);
      this.state = { at: "pass", name: header.name, remaining: take.pass, size: take.pass, descriptor };
      return true;
    }
    if (header.size !== undefined && header.size > take.collect) this.tooLarge(header.name, header.size, take.collect);
    this.directory.record(header.name, offset, header.size);
    const capacity = Math.min(header.size ?? 4096, 1 << 20);
    this.state = { at: "collect", name: header.name, max: take.collect, size: header.size, crc32: header.crc32, collected: new Uint8Array(capacity), filled: 0, scanFrom: 0 };
    return true;
  }

  private async pass(state: State & { at: "pass" }): Promise<boolean> {
    while (state.remaining > 0 && this.queue.length > 0) {
      const bytes = this.queue.takeUpTo(state.remaining);
      state.remaining -= bytes.length;
      await this.handler.data(bytes);
    }
    if (state.remaining > 0) return false;
    if (state.descriptor) this.state = { at: "descriptor", name: state.name, size: state.size };
    else await this.finish(undefined);
    return true;
  }

  /**
   * A small record gathered in memory as its bytes arrive (never left in the queue, which push()
   * copies). With a size from its local header it ends there; with flag bit 3 and no size it ends
   * where a descriptor stating its size and CRC begins.
   */
  private async collect(state: State & { at: "collect" }): Promise<boolean> {
    const limit = state.size ?? state.max + 24;
    if (state.filled < limit && this.queue.length > 0) this.absorb(state, this.queue.take(Math.min(limit - state.filled, this.queue.length)));
    if (state.size !== undefined) {
      if (state.filled < state.size) return false;
      const bytes = state.collected.slice(0, state.size);
      this.checkCrc(state.name, bytes, state.crc32, "its local header");
      await this.finish(bytes);
      return true;
    }
    const view = Buffer.from(state.collected.buffer, 0, state.filled);
    for (let k = view.indexOf("PK\x07\x08", state.scanFrom, "latin1"); k >= 0; k = view.indexOf("PK\x07\x08", k + 1, "latin1")) {
      if (k > state.max) break;
      const match = matchDataDescriptor(state.collected.subarray(k, state.filled), k);
      if (match === "short") {
        state.scanFrom = k;
        return false;
      }
      if (match === "mismatch") continue;
      this.checkCrc(state.name, state.collected.subarray(0, k), match.crc32, "its data descriptor");
      this.queue.unshift(state.collected.slice(k + match.bytes, state.filled));
      this.directory.resolveSize(state.name, k);
      await this.finish(state.collected.slice(0, k));
      return true;
    }
    state.scanFrom = Math.max(0, state.filled - 3);
    if (state.filled >= limit) this.tooLarge(state.name, state.filled, state.max);
    return false;
  }

  private absorb(state: State & { at: "collect" }, bytes: Uint8Array): void {
    if (state.filled + bytes.length > state.collected.length) {
      const grown = new Uint8Array(Math.max(2 * state.collected.length, state.filled + bytes.length));
      grown.set(state.collected.subarray(0, state.filled));
      state.collected = grown;
    }
    state.collected.set(bytes, state.filled);
    state.filled += bytes.length;
  }

  private checkCrc(name: string, bytes: Uint8Array, expected: number, source: string): void {
    const crc = crc32(bytes);
    if (crc !== expected) {
      throw new TorchFormatError("ZIP_INVALID", this.file, `${name} has CRC-32 ${hex32(crc)}, but ${source} says ${hex32(expected)}; the file is damaged`);
    }
  }

  private async descriptor(state: State & { at: "descriptor" }, ended: boolean): Promise<boolean> {
    const match = matchDataDescriptor(this.queue.peek(Math.min(24, this.queue.length)), state.size);
    if (match === "short") {
      if (ended && this.queue.length > 0) this.noDescriptor(state.name, state.size);
      return false;
    }
    if (match === "mismatch") this.noDescriptor(state.name, state.size);
    this.queue.skip(match.bytes);
    await this.finish(undefined);
    return true;
  }

  private async finish(collected: Uint8Array | undefined): Promise<void> {
    this.state = { at: "header" };
    await this.handler.end(collected);
  }

  private directoryStep(): boolean {
    const consumed = this.directory.consume(this.queue, this.position);
    if (consumed === "done") this.state = { at: "done" };
    return consumed !== "short";
  }

  private tooLarge(name: string, size: number, max: number): never {
    throw new TorchFormatError("SIZE_MISMATCH", this.file, `${name} is ${size > max ? "over" : "at least"} ${max} bytes; torch.save writes it far smaller`);
  }

  private noDescriptor(name: string, size: number): never {
    throw new TorchFormatError("ZIP_INVALID", this.file, `no data descriptor after the ${size} bytes of ${name} (at byte ${this.position}); the record is not the size data.pkl declares, or the file is damaged`);
  }
}
