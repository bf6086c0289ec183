import type { KnownOutput, RecoverSummary } from "@model-recover/pipeline";

/** What a command may touch of the process: passed in so tests can run commands in-process too. */
export interface CommandContext {
  cwd: string;
  /** Where a project-level config may also be (the repository root, for pnpm scripts). */
  projectDir?: string;
  /** Aborted on Ctrl-C: long work stops at the next chunk and keeps what it can resume. */
  signal?: AbortSignal;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** How `pnpm recover` takes part in a recovery it runs in-process (see turbo/pnpm-recover.ts). */
  hooks?: RecoverHooks;
}

export interface RecoverHooks {
  /** A store to keep outputs in, and the outputs a cache hit's receipt says the inputs gave. */
  store?: { dir: string; known?: Map<string, KnownOutput> };
  /** Awaited after every check and before any XOR work. */
  beforeWork?: () => Promise<void>;
  /** Awaited before a chained recipe's base is converted (work done whatever turbo decides). */
  beforeBaseWork?: () => Promise<void>;
  /** Awaited once a chained recipe's base is there, converted now or found in the store. */
  afterBaseWork?: (step: { recipe: string; made: boolean }) => Promise<void>;
  /** The summary of a finished run, verified or not. */
  onSummary?: (summary: RecoverSummary) => void;
}
