import { TorchFormatError } from "../errors.js";
import {
  CENTRAL_ENTRY_FIXED_BYTES, CENTRAL_ENTRY_SIGNATURE, centralEntryLength, decodeCentralEntry, END_FIXED_BYTES, END_SIGNATURE,
  ZIP64_END_SIGNATURE, ZIP64_LOCATOR_BYTES, ZIP64_LOCATOR_SIGNATURE,
} from "../zip/central-directory.js";
import { u16, u32, u64 } from "../zip/fields.js";
import type { ByteQueue } from "./byte-queue.js";

/**
 * The central directory and end records of a streamed zip, checked against the records that streamed
 * past: every entry names a record seen at that offset with that size, and every record has one.
 */
export class DirectoryCheck {
  private readonly seen = new Map<string, { offset: number; size: number | undefined; listed: boolean }>();
  private listed = 0;
  private inTrailer = false;

  constructor(private readonly file: string) {}

  record(name: string, offset: number, size: number | undefined): void {
    if (this.seen.has(name)) throw new TorchFormatError("ZIP_INVALID", this.file, `two records named ${name} (the second at byte ${offset})`);
    this.seen.set(name, { offset, size, listed: false });
  }

  resolveSize(name: string, size: number): void {
    this.seen.get(name)!.size = size;
  }

  /** Takes one directory entry or end record off the queue: "short" if more bytes are needed. */
  consume(queue: ByteQueue, position: number): "short" | "progress" | "done" {
    if (queue.length < 4) return "short";
    const signature = u32(queue.peek(4), 0);
    if (!this.inTrailer && signature === CENTRAL_ENTRY_SIGNATURE) return this.entry(queue, position);
    this.inTrailer = true;
    const need = (count: number) => queue.length >= count;
    const skip = (count: number): "progress" => {
      queue.skip(count);
      return "progress";
    };
    switch (signature) {
      case ZIP64_END_SIGNATURE: {
        if (!need(12)) return "short";
        const length = 12 + u64(queue.peek(12), 4, this.file, "the zip64 end record's size");
        if (length > 65_536) throw new TorchFormatError("ZIP_INVALID", this.file, `a zip64 end record of ${length} bytes at byte ${position}`);
        return need(length) ? skip(length) : "short";
      }
      case ZIP64_LOCATOR_SIGNATURE:
        return need(ZIP64_LOCATOR_BYTES) ? skip(ZIP64_LOCATOR_BYTES) : "short";
      case END_SIGNATURE: {
        if (!need(END_FIXED_BYTES)) return "short";
        const length = END_FIXED_BYTES + u16(queue.peek(END_FIXED_BYTES), 20);
        if (!need(length)) return "short";
        queue.skip(length);
        this.checkAllListed();
        return "done";
      }
      default:
        throw new TorchFormatError("ZIP_INVALID", this.file, `unexpected bytes after the central directory, at byte ${position}`);
    }
  }

  private entry(queue: ByteQueue, position: number): "short" | "progress" {
    if (queue.length < CENTRAL_ENTRY_FIXED_BYTES) return "short";
    const length = centralEntryLength(queue.peek(CENTRAL_ENTRY_FIXED_BYTES), this.file, position);
    if (queue.length < length) return "short";
    const entry = decodeCentralEntry(queue.take(length), this.file, position);
    const seen = this.seen.get(entry.name);
    if (!seen || seen.listed || seen.offset !== entry.localHeaderOffset || seen.size !== entry.size) {
      const streamed = seen ? `streamed ${seen.size} bytes at byte ${seen.offset}` : "never streamed";
      throw new TorchFormatError("ZIP_INVALID", this.file, `the central directory lists ${entry.name} with ${entry.size} bytes at byte ${entry.localHeaderOffset}, but it was ${seen?.listed ? "listed twice" : streamed}`);
    }
    seen.listed = true;
    this.listed++;
    return "progress";
  }

  private checkAllListed(): void {
    if (this.listed === this.seen.size) return;
    const missing = [...this.seen].find(([, record]) => !record.listed)![0];
    throw new TorchFormatError("ZIP_INVALID", this.file, `record ${missing} streamed past but the central directory does not list it`);
  }
}
