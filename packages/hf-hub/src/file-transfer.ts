import { AttemptTimer } from "./attempt-timer.js";
import type { ContentDigest } from "./content-digest.js";
import { HubError, type HubTarget } from "./errors.js";
import { acceptHead } from "./expected-file.js";
import { readFileAnswer, type FileAnswer, type HubFileHead } from "./file-head.js";
import { networkReason } from "./network-reason.js";
import { retryDelay, sleep } from "./retry.js";
import { failureFor, TransientFailure } from "./status.js";
import type { OpenFileOptions, StreamSettings } from "./stream-options.js";
import type { Transport } from "./transport.js";

/**
 * The resumable transfer behind a HubFileStream: attempts, each a request from the first byte not
 * yet handed out (`Range: bytes=N-`), always back through the endpoint (a CDN URL is signed and
 * expires); the heads of all attempts must agree; a cut, a reset, a stall, a 5xx or a body shorter
 * than announced is retried, failures in a row without progress being counted against `retries`.
 * Written here rather than taken from @huggingface/hub, whose `downloadFile` hands back a Blob that
 * neither resumes after a cut nor checks the sha256 (spec llama-patches §5).
 */
export class FileTransfer {
  position: number;
  received = 0;
  discarded = 0;
  head?: HubFileHead;
  /** The last byte is in, the body ended there, and the digest (if any) matched. */
  ended = false;
  readonly chunks: AsyncGenerator<Uint8Array, void, undefined>;

  constructor(
    private readonly settings: StreamSettings,
    private readonly url: URL,
    private readonly target: HubTarget,
    private readonly options: OpenFileOptions,
    private digest: ContentDigest | undefined,
  ) {
    this.position = options.from ?? 0;
    this.chunks = this.run();
  }

  private async *run(): AsyncGenerator<Uint8Array, void, undefined> {
    const { policy, headersTimeoutMs, idleTimeoutMs, transport } = this.settings;
    let failures = 0;
    while (this.head === undefined || this.position < this.head.size) {
      const timer = new AttemptTimer(this.options.signal);
      const startedAt = this.position;
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
      try {
        timer.arm(headersTimeoutMs, () => `no response within ${headersTimeoutMs / 1000} s`);
        const { response, answer } = await requestFrom(this.position, transport, this.url, this.target, timer.signal);
        this.accept(answer.head);
        reader = response.body?.getReader();
        if (answer.kind === "complete") break;
        if (answer.start < this.position) this.options.onEvent?.({ type: "range-ignored", position: this.position });
        timer.arm(idleTimeoutMs, () => `no data for ${idleTimeoutMs / 1000} s at byte ${this.position}`);
        yield* this.pump(reader, answer, timer);
      } catch (error) {
        if (this.options.signal?.aborted) throw this.options.signal.reason;
        if (error instanceof HubError) throw error;
        const failure = error instanceof TransientFailure ? error : new TransientFailure(timer.stalled ?? networkReason(error));
        failures = this.position > startedAt ? 1 : failures + 1;
        if (failures > policy.retries) throw this.transferError(failures, failure.reason);
        const delayMs = retryDelay(policy, failures, failure.retryAfterMs);
        this.options.onEvent?.({ type: "retry", attempt: failures, retries: policy.retries, position: this.position, reason: failure.reason, delayMs });
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
      this.received += value.length;
      let chunk = value;
      if (at < this.position) {
        // A 200 to a Range request (or a range that starts early): drop what was handed out already.
        const drop = Math.min(chunk.length, this.position - at);
        at += drop;
        this.discarded += drop;
        chunk = chunk.subarray(drop);
        if (chunk.length === 0) continue;
      }
      if (at + chunk.length > answer.end) throw this.overflow(answer.end - answer.start);
      at += chunk.length;
      this.position += chunk.length;
      this.digest?.update(chunk);
      if (this.position === size) {
        await this.endOfFile(reader!, size);
        yield chunk;
        return;
      }
      // While the consumer holds the chunk the server is not the one stalling: the idle deadline waits.
      timer.hold();
      yield chunk;
      timer.release();
    }
    if (this.position < size) throw new TransientFailure(`the body ended at byte ${this.position} of ${size}`);
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
    const digest = acceptHead(head, this.head, this.position, this.options, this.target);
    if (this.head === undefined && digest) this.digest = digest;
    this.head = head;
  }

  private overflow(announced: number): HubError {
    return new HubError("HUB_SIZE", `the server sent more than the ${announced} bytes announced (file of ${this.head!.size} bytes); refusing the extra bytes`, this.target);
  }

  private transferError(failures: number, reason: string): HubError {
    const of = this.head ? ` of ${this.head.size}` : "";
    return new HubError("HUB_TRANSFER", `download failed ${failures} times in a row at byte ${this.position}${of} (last: ${reason}); check the network and run again to resume`, this.target);
  }
}

/** One attempt's request for the bytes from `position` on, and how its answer is to be read. */
async function requestFrom(position: number, transport: Transport, url: URL, target: HubTarget, signal: AbortSignal): Promise<{ response: Response; answer: FileAnswer }> {
  const headers: Record<string, string> = { "accept-encoding": "identity" };
  if (position > 0) headers.range = `bytes=${position}-`;
  const exchange = await transport.exchange(url, { headers, signal }, target);
  if (!exchange.response.ok && exchange.response.status !== 416) {
    await exchange.response.body?.cancel();
    throw failureFor(exchange, target, transport.hasToken);
  }
  return { response: exchange.response, answer: readFileAnswer(exchange, position, target) };
}
