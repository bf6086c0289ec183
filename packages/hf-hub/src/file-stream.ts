import { AttemptTimer } from "./attempt-timer.js";
import { ContentDigest } from "./content-digest.js";
import { describeTarget, HubError, type HubTarget } from "./errors.js";
import { readFileAnswer, type FileAnswer, type HubFileHead } from "./file-head.js";
import { networkReason } from "./network-reason.js";
import { retryDelay, sleep, type RetryPolicy } from "./retry.js";
import { failureFor, TransientFailure } from "./status.js";
import type { Transport } from "./transport.js";
import { acceptHead, type ExpectedFile } from "./expected-file.js";

export interface OpenFileOptions {
  /** Start at this byte (a resume); the bytes before it are never requested. */
  from?: number;
  /** What the caller knows of the file (a listing entry, a recipe, an earlier run's ETag); a disagreement is an error. */
  expected?: ExpectedFile;
  /**
   * Hash the bytes on the way through and fail the stream (HUB_DIGEST) before it hands out the last
   * chunk if they do not match what the Hub reports. `true` from byte 0; from an offset, pass a
   * ContentDigest already fed with the bytes before it.
   */
  verify?: boolean | ContentDigest;
  signal?: AbortSignal;
  onEvent?: (event: HubStreamEvent) => void;
}

export type HubStreamEvent =
  /** An attempt failed and another follows after `delayMs`; `reason` is e.g. "ECONNRESET" or "HTTP 503 from ...". */
  | { type: "retry"; attempt: number; retries: number; position: number; reason: string; delayMs: number }
  /** The server answered a Range request with the whole file: the `position` bytes before the resume point are read and dropped. */
  | { type: "range-ignored"; position: number };

export interface StreamSettings {
  transport: Transport;
  policy: RetryPolicy;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
}

/**
 * One file's bytes from `from` to its end, in order, each exactly once, whatever the connection
 * does. Written here rather than taken from @huggingface/hub, whose `downloadFile` hands back a
 * Blob that neither resumes after a cut nor checks the sha256 (spec llama-patches §5). A cut, a
 * reset, a stall, a 5xx or a body shorter than announced is retried with `Range: bytes=N-` from the
 * first byte not yet handed out, going back through the endpoint (a CDN URL is signed and expires),
 * and the ETag must not change between attempts. Chunks are the Uint8Arrays fetch delivers, not copies.
 */
export class HubFileStream implements AsyncIterable<Uint8Array> {
  #position: number;
  #received = 0;
  #discarded = 0;
  #head?: HubFileHead;
  private digest?: ContentDigest;
  /** The last byte is in and verified. */
  private ended = false;
  private failure?: { error: unknown };
  private pending?: Uint8Array;
  private readonly chunks: AsyncGenerator<Uint8Array, void, undefined>;

  constructor(
    private readonly settings: StreamSettings,
    private readonly url: URL,
    readonly target: HubTarget,
    private readonly options: OpenFileOptions = {},
  ) {
    const { from = 0, verify } = options;
    if (!Number.isSafeInteger(from) || from < 0) throw new TypeError(`from must be a byte offset, got ${from}`);
    if (verify === true && from > 0) throw new TypeError("verify: true checks from byte 0; to resume, pass a ContentDigest fed with the first `from` bytes");
    if (verify instanceof ContentDigest) {
      if (verify.bytes !== from) throw new TypeError(`the ContentDigest has been fed ${verify.bytes} bytes, the stream starts at ${from}`);
      this.digest = verify;
    }
    this.#position = from;
    this.chunks = this.run();
  }

  /** The offset of the next byte this stream hands out. */
  get position(): number {
    return this.#position;
  }

  /** Bytes read from the network, including any dropped after a server ignored a Range request. */
  get bytesReceived(): number {
    return this.#received;
  }

  get bytesDiscarded(): number {
    return this.#discarded;
  }

  /** Size, ETag, LFS sha256 and commit, once the first response has come. */
  get head(): HubFileHead | undefined {
    return this.#head;
  }

  /** Connect (if not yet) and return what the Hub says about the file. */
  async open(): Promise<HubFileHead> {
    if (!this.#head && !this.pending) this.pending = await this.pull();
    return this.#head!;
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
      await this.chunks.return(undefined);
    }
  }

  /** Stop: the connection is closed; a later read fails rather than look like the end of the file. */
  async close(): Promise<void> {
    this.pending = undefined;
    await this.chunks.return(undefined);
  }

  /**
   * The next chunk, or undefined at the verified end of the file. A failure is kept and thrown
   * again by every later call, and a stream stopped before its end never reads as ended.
   */
  private async pull(): Promise<Uint8Array | undefined> {
    if (this.failure) throw this.failure.error;
    try {
      const next = await this.chunks.next();
      if (!next.done) return next.value;
    } catch (error) {
      this.failure = { error };
      throw error;
    }
    if (!this.ended) throw new Error(`${describeTarget(this.target)}: the stream was closed at byte ${this.#position}; open a new one to go on`);
    return undefined;
  }

  private async *run(): AsyncGenerator<Uint8Array, void, undefined> {
    const { policy, headersTimeoutMs, idleTimeoutMs, transport } = this.settings;
    let failures = 0;
    while (this.#head === undefined || this.#position < this.#head.size) {
      const timer = new AttemptTimer(this.options.signal);
      const startedAt = this.#position;
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
      try {
        timer.arm(headersTimeoutMs, () => `no response within ${headersTimeoutMs / 1000} s`);
        const headers: Record<string, string> = { "accept-encoding": "identity" };
        if (this.#position > 0) headers.range = `bytes=${this.#position}-`;
        const exchange = await transport.exchange(this.url, { headers, signal: timer.signal }, this.target);
        if (!exchange.response.ok && exchange.response.status !== 416) {
          await exchange.response.body?.cancel();
          throw failureFor(exchange, this.target, transport.hasToken);
        }
        const answer = readFileAnswer(exchange, this.#position, this.target);
        this.accept(answer.head);
        reader = exchange.response.body?.getReader();
        if (answer.kind === "complete") break;
        if (answer.start < this.#position) this.options.onEvent?.({ type: "range-ignored", position: this.#position });
        timer.arm(idleTimeoutMs, () => `no data for ${idleTimeoutMs / 1000} s at byte ${this.#position}`);
        yield* this.pump(reader, answer, timer);
      } catch (error) {
        if (this.options.signal?.aborted) throw this.options.signal.reason;
        if (error instanceof HubError) throw error;
        const failure = error instanceof TransientFailure ? error : new TransientFailure(timer.stalled ?? networkReason(error));
        failures = this.#position > startedAt ? 1 : failures + 1;
        if (failures > policy.retries) throw this.transferError(failures, failure.reason);
        const delayMs = retryDelay(policy, failures, failure.retryAfterMs);
        this.options.onEvent?.({ type: "retry", attempt: failures, retries: policy.retries, position: this.#position, reason: failure.reason, delayMs });
        await sleep(delayMs, this.options.signal);
      } finally {
        timer.dispose();
        reader?.cancel().catch(() => undefined);
      }
    }
    this.finish();
  }

  /** The chunks of one response body, from the first byte not yet handed out. */
  private async *pump(reader: ReadableStreamDefaultReader<Uint8Array> | undefined, answer: FileAnswer & { kind: "body" }, timer: AttemptTimer): AsyncGenerator<Uint8Array, void, undefined> {
    const size = answer.head.size;
    let at = answer.start;
    for (;;) {
      const { done, value } = reader ? await reader.read() : { done: true as const, value: undefined };
      if (done) break;
      timer.refresh();
      this.#received += value.length;
      let chunk = value;
      if (at < this.#position) {
        // A 200 to a Range request (or a range that starts early): drop what was handed out already.
        const drop = Math.min(chunk.length, this.#position - at);
        at += drop;
        this.#discarded += drop;
        chunk = chunk.subarray(drop);
        if (chunk.length === 0) continue;
      }
      if (at + chunk.length > answer.end) throw this.overflow(answer.end - answer.start);
      at += chunk.length;
      this.#position += chunk.length;
      this.digest?.update(chunk);
      if (this.#position === size) {
        await this.endOfFile(reader!, size);
        yield chunk;
        return;
      }
      // While the consumer holds the chunk the server is not the one stalling: the idle deadline waits.
      timer.hold();
      yield chunk;
      timer.release();
    }
    if (this.#position < size) throw new TransientFailure(`the body ended at byte ${this.#position} of ${size}`);
  }

  /** The last byte is in: the body must end here, and the digest must match, before the last chunk is handed out. */
  private async endOfFile(reader: ReadableStreamDefaultReader<Uint8Array>, size: number): Promise<void> {
    const after = await reader.read().catch(() => ({ done: true as const, value: undefined }));
    if (!after.done && after.value.length > 0) throw this.overflow(size);
    this.finish();
  }

  private finish(): void {
    if (this.ended) return;
    this.digest?.verify(this.target);
    this.ended = true;
  }

  private accept(head: HubFileHead): void {
    const digest = acceptHead(head, this.#head, this.#position, this.options, this.target);
    if (this.#head === undefined && digest) this.digest = digest;
    this.#head = head;
  }

  private overflow(announced: number): HubError {
    return new HubError("HUB_SIZE", `the server sent more than the ${announced} bytes announced (file of ${this.#head!.size} bytes); refusing the extra bytes`, this.target);
  }

  private transferError(failures: number, reason: string): HubError {
    const of = this.#head ? ` of ${this.#head.size}` : "";
    return new HubError("HUB_TRANSFER", `download failed ${failures} times in a row at byte ${this.#position}${of} (last: ${reason}); check the network and run again to resume`, this.target);
  }
}
