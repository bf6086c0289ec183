/**
 * What the test server does wrong while serving one file's bytes. Offsets are offsets in the file;
 * one-shot faults are used up as they fire, so a download that resumes meets each once.
 */
export interface FileFaults {
  /** Reset the connection (TCP RST) when the body reaches each of these offsets: cuts mid-file. */
  cutAt?: number[];
  /** Close the connection cleanly (FIN) at each of these offsets, the headers having promised more. */
  truncateAt?: number[];
  /** Answer this many Range requests with 200 and the whole file. */
  ignoreRange?: number;
  /** Flip the bits of the byte at this offset, on every response that carries it. */
  flipByteAt?: number;
  /** Send nothing for `ms` when the body reaches `offset`, once: a stalled transfer. */
  stallAt?: { offset: number; ms: number };
  /** Wait this long before answering the resolve request, once: a server that does not respond. */
  delayHeadersMs?: number;
  /** Answer the resolve request with 503 (Retry-After: 0) this many times. */
  unavailable?: number;
  /** Answer this many requests with a complete 206 of only the first half of what was asked. */
  partialRange?: number;
  /** Send this many bytes past the end of what was announced, chunked (no Content-Length to stop them). */
  overflowBytes?: number;
}

/** The faults of one file and what is left of the one-shot ones. */
export class FaultState {
  private cuts: number[];
  private truncations: number[];
  private stall?: { offset: number; ms: number };

  constructor(readonly faults: FileFaults) {
    this.cuts = [...(faults.cutAt ?? [])];
    this.truncations = [...(faults.truncateAt ?? [])];
    this.stall = faults.stallAt;
  }

  /** Whether to answer this request 503; counts down. */
  takeUnavailable(): boolean {
    return this.take("unavailable");
  }

  takeIgnoreRange(): boolean {
    return this.take("ignoreRange");
  }

  takePartialRange(): boolean {
    return this.take("partialRange");
  }

  takeHeaderDelay(): number {
    const ms = this.faults.delayHeadersMs ?? 0;
    this.faults.delayHeadersMs = 0;
    return ms;
  }

  /** The first one-shot event at or after `from` and before `end`, if any. */
  nextEvent(from: number, end: number): { offset: number; kind: "cut" | "truncate" | "stall"; ms?: number } | undefined {
    const events = [
      ...this.cuts.map((offset) => ({ offset, kind: "cut" as const })),
      ...this.truncations.map((offset) => ({ offset, kind: "truncate" as const })),
      ...(this.stall ? [{ offset: this.stall.offset, kind: "stall" as const, ms: this.stall.ms }] : []),
    ].filter((event) => event.offset >= from && event.offset < end);
    return events.sort((a, b) => a.offset - b.offset)[0];
  }

  /** The event fired: it does not fire again. */
  consume(event: { offset: number; kind: "cut" | "truncate" | "stall" }): void {
    if (event.kind === "cut") this.cuts.splice(this.cuts.indexOf(event.offset), 1);
    else if (event.kind === "truncate") this.truncations.splice(this.truncations.indexOf(event.offset), 1);
    else this.stall = undefined;
  }

  private take(key: "unavailable" | "ignoreRange" | "partialRange"): boolean {
    const left = this.faults[key] ?? 0;
    if (left <= 0) return false;
    this.faults[key] = left - 1;
    return true;
  }
}
