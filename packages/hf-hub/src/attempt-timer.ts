/**
 * The abort signal of one HTTP attempt: aborted when the caller's signal aborts, or when the
 * attempt stalls. The deadline is re-armed as the attempt moves on (headers, then each chunk), and
 * `refresh` is Node's cheap timer re-arm, so a chunk costs no new timer.
 */
export class AttemptTimer {
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  private held = false;
  /** Why the attempt was aborted by its deadline ("no response within 30 s"), if it was. */
  stalled?: string;

  constructor(private readonly callerSignal?: AbortSignal) {
    if (callerSignal?.aborted) this.controller.abort(callerSignal.reason);
    else callerSignal?.addEventListener("abort", this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Abort unless `refresh` or another `arm` comes within `ms`; `reason` says what was awaited. */
  arm(ms: number, reason: () => string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.held) return this.timer?.refresh();
      this.stalled = reason();
      this.controller.abort(new Error(this.stalled));
    }, ms);
  }

  refresh(): void {
    this.timer?.refresh();
  }

  /** The deadline does not fire while held (the caller's consumer, not the server, is taking its time). */
  hold(): void {
    this.held = true;
  }

  /** The hold ends and the deadline starts over. */
  release(): void {
    this.held = false;
    this.timer?.refresh();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener("abort", this.onCallerAbort);
  }

  private readonly onCallerAbort = () => {
    clearTimeout(this.timer);
    this.controller.abort(this.callerSignal!.reason);
  };
}
