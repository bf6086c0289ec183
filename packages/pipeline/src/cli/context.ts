/** What a command may touch of the process: passed in so tests can run commands in-process too. */
export interface CommandContext {
  cwd: string;
  /** Aborted on Ctrl-C: long work stops at the next chunk and keeps what it can resume. */
  signal?: AbortSignal;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}
