/**
 * Ctrl-C as the CLI handles it: the first stops cleanly (long work ends at the next chunk and every
 * unfinished file keeps its resume point), a second one stops at once.
 */
export function interruptSignal(stderr: NodeJS.WritableStream): AbortSignal {
  const interrupt = new AbortController();
  process.once("SIGINT", () => {
    stderr.write("\nmodel-recover: stopping after the chunks in flight (Ctrl-C again to stop at once)…\n");
    interrupt.abort();
    process.once("SIGINT", () => process.exit(130));
  });
  return interrupt.signal;
}
