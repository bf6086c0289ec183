import { type ConvertLlamaEvent, formatBytes, formatDuration, printable } from "@model-recover/pipeline";

interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Draws recovery and conversion events: on a TTY a bar per active file and one overall, redrawn in
 * place at most ten times a second; otherwise a plain line every few seconds, so CI logs stay readable.
 */
export function createProgress(stream: Stream, options: { plainEverySeconds?: number; now?: () => number; work?: "recover" | "write" | "download" } = {}) {
  const work = options.work ?? "recover";
  const now = options.now ?? (() => performance.now() / 1000);
  const tty = stream.isTTY === true;
  const plainEvery = options.plainEverySeconds ?? 5;
  const active = new Map<string, { bytes: number; done: number }>();
  let totalBytes = 0;
  let finishedBytes = 0;
  let started = now();
  let lastDraw = now();
  let drawnLines = 0;

  const doneBytes = () => finishedBytes + [...active.values()].reduce((sum, f) => sum + f.done, 0);
  const rate = () => doneBytes() / Math.max(now() - started, 1e-3);

  function overallLine(): string {
    const done = doneBytes();
    const left = rate() > 0 ? (totalBytes - done) / rate() : Infinity;
    return `${formatBytes(done)} of ${formatBytes(totalBytes)} at ${formatBytes(rate())}/s, ${formatDuration(left)} left`;
  }

  function bar(fraction: number, width: number): string {
    const filled = Math.round(Math.min(Math.max(fraction, 0), 1) * width);
    return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
  }

  function redraw(force = false): void {
    const t = now();
    // Off a TTY every line stays in the log, so only the interval draws, never a file boundary.
    if (tty ? !force && t - lastDraw < 0.1 : t - lastDraw < plainEvery) return;
    lastDraw = t;
    if (!tty) {
      stream.write(`progress: ${overallLine()}\n`);
      return;
    }
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 50));
    const lines = [...active.entries()].map(([name, f]) => `${bar(f.done / Math.max(f.bytes, 1), width)} ${pct(f.done, f.bytes)} ${printable(name)}`);
    lines.push(`${bar(doneBytes() / Math.max(totalBytes, 1), width)} ${pct(doneBytes(), totalBytes)} overall: ${overallLine()}`);
    const up = drawnLines > 0 ? `\x1b[${drawnLines}A` : "";
    stream.write(`${up}\r\x1b[J${lines.join("\n")}\n`);
    drawnLines = lines.length;
  }

  /** A line of its own; what it quotes of the inputs (names, messages) is shown with controls escaped. */
  function say(line: string): void {
    if (tty && drawnLines > 0) stream.write(`\x1b[${drawnLines}A\r\x1b[J`);
    drawnLines = 0;
    stream.write(`${printable(line)}\n`);
  }

  /** The md5 pass over a conversion's inputs, before any output: one line, redrawn in place on a TTY. */
  function hashing(name: string, bytesDone: number, bytes: number): void {
    const t = now();
    if (tty ? t - lastDraw < 0.1 : t - lastDraw < plainEvery) return;
    lastDraw = t;
    const line = `md5 of ${printable(name)}: ${pct(bytesDone, bytes)} of ${formatBytes(bytes)}`;
    stream.write(tty ? `\r\x1b[K${line}` : `progress: ${line}\n`);
  }

  return (event: ConvertLlamaEvent): void => {
    switch (event.type) {
      case "originals-found":
        return say(`originals: ${event.dir} (${event.model}, ${event.shards} consolidated file${event.shards === 1 ? "" : "s"}${event.tokenizer ? `, ${event.tokenizer}` : ""})`);
      case "shapes-checked":
        return say(`shapes: ${event.tensors} tensors in ${event.files} file${event.files > 1 ? "s" : ""} are what params.json says (read from the pickles; no weight read yet)`);
      case "input-progress":
        return hashing(event.name, event.bytesDone, event.bytes);
      case "input-checked":
        if (tty) stream.write("\r\x1b[K");
        if (event.input.md5) say(`md5 of ${event.input.name} is the published one (${event.input.md5})`);
        return;
      case "planned": {
        const todo = event.files.filter((f) => !f.reused);
        totalBytes = todo.reduce((sum, f) => sum + f.bytes, 0);
        started = now();
        for (const name of event.extras) say(`not part of the release, left alone: ${name}`);
        const reused = event.files.length - todo.length;
        if (todo.length === 0) say(`all ${reused} files already verified: nothing to ${work}`);
        else say(`${todo.length} ${todo.length === 1 ? "file" : "files"} to ${work} (${formatBytes(totalBytes)})${reused ? `, ${reused} already verified` : ""}`);
        return;
      }
      case "restored":
        // Listed once, in the summary ("from the output store").
        return;
      case "unverified-removed":
        return say(`removed ${event.name} from the output folder: it was there but did not verify`);
      case "key-checked":
        return say(`base ${event.base} is the right key (checked on ${event.probe})`);
      case "room-checked":
        if (event.neededBytes === 0) return;
        return say(`room: ${formatBytes(event.neededBytes)} needed, ${formatBytes(event.freeBytes)} free`);
      case "file-started":
        if (event.resumedFrom > 0) say(`resuming ${event.name} from ${formatBytes(event.resumedFrom)} (${event.resumedFrom} bytes; rehashing what is on disk)`);
        active.set(event.name, { bytes: event.bytes, done: 0 });
        return redraw(true);
      case "file-progress":
        active.set(event.name, { bytes: event.bytes, done: event.bytesDone });
        return redraw();
      case "download-retry":
        return say(`retrying ${event.name} from byte ${event.position} (${event.reason}; attempt ${event.attempt} of ${event.retries})`);
      case "file-verified":
      case "file-failed": {
        const name = event.type === "file-verified" ? event.file.name : event.name;
        finishedBytes += active.get(name)?.bytes ?? 0;
        active.delete(name);
        // A verified file is listed once, in the summary; a failure says why here, where it happens.
        if (event.type === "file-failed") say(`FAILED ${name}: ${event.message}`);
        if (active.size > 0) redraw(true);
        return;
      }
    }
  };
}

const pct = (done: number, total: number) => `${String(Math.floor((100 * done) / Math.max(total, 1))).padStart(3)}%`;
