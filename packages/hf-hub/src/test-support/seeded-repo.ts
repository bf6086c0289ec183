import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { xorshift32Bytes } from "@model-recover/xor-core";
import type { HubError } from "../errors.js";
import { HubServer, type HubServerOptions } from "./hub-server.js";

/** A repo folder of seeded files (path → size) and a test Hub serving it as `repo`. */
export interface SeededHub {
  server: HubServer;
  dir: string;
  /** The bytes each file was written with. */
  content: Map<string, Uint8Array>;
  close(): Promise<void>;
}

/**
 * Writes `files` (path → size, from seeds) into a temporary folder and serves it with HubServer
 * as `repo` (and any `extraRepos` from the same folder). Used by this package's tests; files of
 * `lfsMinBytes` (default 64 KiB here) or more are LFS files behind the CDN redirect.
 */
export async function startSeededHub(
  repo: string,
  files: Record<string, number>,
  options: Omit<HubServerOptions, "repos"> & { tokens?: string[]; extraRepos?: Record<string, { tokens?: string[] }> } = {},
): Promise<SeededHub> {
  const dir = await mkdtemp(join(tmpdir(), "hf-hub-test-"));
  const content = new Map<string, Uint8Array>();
  let seed = 1;
  for (const [path, size] of Object.entries(files)) {
    const bytes = xorshift32Bytes(seed++, size);
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
    content.set(path, bytes);
  }
  const extra = Object.fromEntries(Object.entries(options.extraRepos ?? {}).map(([id, { tokens }]) => [id, { dir, tokens }]));
  const server = await HubServer.start({ lfsMinBytes: 64 * 1024, ...options, repos: { [repo]: { dir, tokens: options.tokens }, ...extra } });
  return {
    server,
    dir,
    content,
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every chunk of an async iterable, joined. */
export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The error a call fails with; a call that succeeds fails the test. */
export async function failureOf(promise: Promise<unknown>): Promise<HubError> {
  try {
    await promise;
  } catch (error) {
    return error as HubError;
  }
  throw new Error("expected a failure, the call succeeded");
}
