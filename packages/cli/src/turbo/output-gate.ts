type Target = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/**
 * Holds a run's output until it is known whether the run is wanted: opened, what was held is written
 * and the rest passes through; discarded, it is dropped. pnpm recover starts a recovery at once, in
 * case turbo finds it is not cached, and shows it only once turbo has said so.
 */
export class OutputGate {
  private held: [Target, string][] = [];
  private state: "holding" | "open" | "discarded" = "holding";
  readonly stdout: Target;
  readonly stderr: Target;

  constructor(stdout: Target, stderr: Target) {
    this.stdout = this.wrap(stdout);
    this.stderr = this.wrap(stderr);
  }

  open(): void {
    if (this.state !== "holding") return;
    this.state = "open";
    for (const [target, text] of this.held) target.write(text);
    this.held = [];
  }

  discard(): void {
    this.state = "discarded";
    this.held = [];
  }

  private wrap(target: Target): Target {
    const write = (text: string | Uint8Array) => {
      const chunk = typeof text === "string" ? text : Buffer.from(text).toString("utf8");
      if (this.state === "open") return target.write(chunk);
      if (this.state === "holding") this.held.push([target, chunk]);
      return true;
    };
    return { write, isTTY: target.isTTY, columns: target.columns } as unknown as Target;
  }
}
