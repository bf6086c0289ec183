import { ContentDigest } from "./content-digest.js";
import { describeTarget, type HubTarget } from "./errors.js";
import type { HubFileHead } from "./file-head.js";
import { FileTransfer } from "./file-transfer.js";
import type { OpenFileOptions, StreamSettings } from "./stream-options.js";

/**
 * One file's bytes from `from` to its end, in order, each exactly once, whatever the connection
 * does (see FileTransfer), as chunks (the Uint8Arrays fetch delivers, not copies) or read into the
 * caller's memory. It never reads as ended unless the whole file came and checked out.
 */
export class HubFileStream implements AsyncIterable<Uint8Array> {
  private readonly transfer: FileTransfer;
  private failure?: { error: unknown };
  private pending?: Uint8Array;
  private closedAt?: number;

  constructor(settings: StreamSettings, url: URL, readonly target: HubTarget, options: OpenFileOptions = {}) {
    const { from = 0, verify } = options;
    if (!Number.isSafeInteger(from) || from < 0) throw new TypeError(`from must be a byte offset, got ${from}`);
    if (verify === true && from > 0) throw new TypeError("verify: true checks from byte 0; to resume, pass a ContentDigest fed with the first `from` bytes");
    if (verify instanceof ContentDigest && verify.bytes !== from) throw new TypeError(`the ContentDigest has been fed ${verify.bytes} bytes, the stream starts at ${from}`);
    this.transfer = new FileTransfer(settings, url, target, options, verify instanceof ContentDigest ? verify : undefined);
  }

  /** The offset of the next byte this stream hands out (bytes received but not yet read are not counted). */
  get position(): number {
    return this.closedAt ?? this.transfer.position - (this.pending?.length ?? 0);
  }

  /** Bytes read from the network, including any dropped after a server ignored a Range request. */
  get bytesReceived(): number {
    return this.transfer.received;
  }

  get bytesDiscarded(): number {
    return this.transfer.discarded;
  }

  /** Size, ETag, LFS sha256 and commit, once the first response has come. */
  get head(): HubFileHead | undefined {
    return this.transfer.head;
  }

  /** Connect (if not yet) and return what the Hub says about the file. */
  async open(): Promise<HubFileHead> {
    if (!this.transfer.head && !this.pending) this.pending = await this.pull();
    return this.transfer.head!;
  }

  /**
   * Fill `target` with the next bytes; fewer only when the file ends (then verified). Returns how
   * many were written. One reader at a time: calls must not overlap.
   */
  async read(target: Uint8Array): Promise<number> {
    let filled = 0;
    while (filled < target.length) {
      this.pending ??= await this.pull();
      if (!this.pending) break;
      const count = Math.min(this.pending.length, target.length - filled);
      target.set(count === this.pending.length ? this.pending : this.pending.subarray(0, count), filled);
      this.pending = count === this.pending.length ? undefined : this.pending.subarray(count);
      filled += count;
    }
    return filled;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      for (;;) {
        const chunk = this.pending ?? (await this.pull());
        this.pending = undefined;
        if (!chunk) return;
        yield chunk;
      }
    } finally {
      // A consumer that breaks out early lets go of the connection.
      await this.transfer.chunks.return(undefined);
    }
  }

  /** Stop: the connection is closed; a later read fails rather than look like the end of the file. */
  async close(): Promise<void> {
    this.closedAt ??= this.position;
    this.pending = undefined;
    await this.transfer.chunks.return(undefined);
  }

  /**
   * The next chunk, or undefined at the verified end of the file. A failure is kept and thrown
   * again by every later call, and a stream stopped before its end never reads as ended.
   */
  private async pull(): Promise<Uint8Array | undefined> {
    if (this.failure) throw this.failure.error;
    try {
      const next = await this.transfer.chunks.next();
      if (!next.done) return next.value;
    } catch (error) {
      this.failure = { error };
      throw error;
    }
    if (!this.transfer.ended) throw new Error(`${describeTarget(this.target)}: the stream was closed at byte ${this.position}; open a new one to go on`);
    return undefined;
  }
}
