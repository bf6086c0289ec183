import { constants, type Stats } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";
import { HubError } from "./errors.js";

export interface TokenSources {
  /** `--token-file`: read first, and an error if it cannot be read or is empty. */
  tokenFile?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * The token for gated repos: the token file when one is named, else HF_TOKEN, else none. As in
 * huggingface_hub (`_clean_token`), line breaks and surrounding blanks are dropped. The token is
 * never part of a message, including the ones this function throws.
 */
export async function readHubToken(sources: TokenSources = {}): Promise<string | undefined> {
  const { tokenFile, env = process.env } = sources;
  if (tokenFile !== undefined) {
    const token = cleanToken(await readTokenFile(tokenFile));
    if (token === undefined) throw new HubError("HUB_TOKEN", `token file ${tokenFile}: holds no token (the file is empty)`);
    return checkToken(token, `token file ${tokenFile}`);
  }
  const fromEnv = cleanToken(env.HF_TOKEN ?? "");
  return fromEnv === undefined ? undefined : checkToken(fromEnv, "HF_TOKEN");
}

/** A Hugging Face token is 37 characters; a file past this holds no token, and is never read whole. */
const MAX_TOKEN_FILE_BYTES = 64 * 1024;
const WHAT_TO_DO = "name a file holding a Hugging Face token";

/**
 * The token file's text, read only if it is a regular file of at most MAX_TOKEN_FILE_BYTES, or a pipe
 * (`--token-file <(pass hf-token)`, a named FIFO) that ends within PIPE_WAIT_MS: O_NONBLOCK makes
 * opening a FIFO return at once (it would wait for a writer forever), and the open descriptor is what
 * is checked, so a file swapped for something else after a stat is judged by what was opened.
 */
async function readTokenFile(path: string): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    // A socket cannot be opened at all (ENXIO); what it is says more than the error code.
    const info = await stat(path).catch(() => undefined);
    if (info && !info.isFile()) throw notAFile(path, info);
    throw new HubError("HUB_TOKEN", `token file ${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? "unreadable"}); ${WHAT_TO_DO}`);
  }
  try {
    const info = await handle.stat();
    if (info.isFIFO()) return await readPipe(handle, path);
    if (!info.isFile()) throw notAFile(path, info);
    if (info.size > MAX_TOKEN_FILE_BYTES) throw tooBig(path, info.size);
    // One byte more than allowed: a file that grew since the stat is refused, not read without end.
    const buffer = Buffer.alloc(MAX_TOKEN_FILE_BYTES + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > MAX_TOKEN_FILE_BYTES) throw tooBig(path, filled);
    return buffer.subarray(0, filled).toString("utf8");
  } finally {
    await handle.close();
  }
}

/** How long a pipe may take to deliver the token and end; a writer that never comes, or never closes, is not waited on past it. */
const PIPE_WAIT_MS = 3000;

/**
 * A pipe's text up to its end: a read with nothing yet written gives EAGAIN (the writer is slow), and
 * an end with nothing read may come before a named FIFO's writer opened it, so both are waited out
 * until PIPE_WAIT_MS; more than MAX_TOKEN_FILE_BYTES is refused as for a file.
 */
async function readPipe(handle: FileHandle, path: string): Promise<string> {
  const buffer = Buffer.alloc(MAX_TOKEN_FILE_BYTES + 1);
  const deadline = Date.now() + PIPE_WAIT_MS;
  let filled = 0;
  while (filled <= MAX_TOKEN_FILE_BYTES) {
    const bytesRead = await handle.read(buffer, filled, buffer.length - filled, null).then(
      (result) => result.bytesRead,
      (error: NodeJS.ErrnoException) => {
        if (error.code === "EAGAIN") return -1;
        throw new HubError("HUB_TOKEN", `token file ${path}: cannot be read (${error.code ?? "unreadable"}); ${WHAT_TO_DO}`);
      },
    );
    if (bytesRead === 0 && filled > 0) return buffer.subarray(0, filled).toString("utf8");
    if (bytesRead > 0) filled += bytesRead;
    else if (Date.now() > deadline) throw new HubError("HUB_TOKEN", `token file ${path}: is a pipe that ${filled === 0 ? "gave no token" : "did not end"} within ${PIPE_WAIT_MS / 1000} s; ${WHAT_TO_DO}, or a command that prints one (--token-file <(command))`);
    else await new Promise((done) => setTimeout(done, 20));
  }
  throw tooBig(path, filled);
}

function notAFile(path: string, info: Stats): HubError {
  const kind = info.isDirectory() ? "a folder" : info.isFIFO() ? "a FIFO (named pipe)" : info.isSocket() ? "a socket" : info.isCharacterDevice() || info.isBlockDevice() ? "a device" : "not a regular file";
  return new HubError("HUB_TOKEN", `token file ${path}: is ${kind}, not a file; ${WHAT_TO_DO}`);
}

const tooBig = (path: string, bytes: number) => new HubError("HUB_TOKEN", `token file ${path}: ${bytes} bytes is too big for a token file (at most ${MAX_TOKEN_FILE_BYTES}); ${WHAT_TO_DO}`);

function cleanToken(text: string): string | undefined {
  const token = text.replace(/[\r\n]/g, "").trim();
  return token === "" ? undefined : token;
}

/** A header value must be visible ASCII; anything else would be refused by fetch with the token in the message. */
export function checkToken(token: string, source: string): string {
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new HubError("HUB_TOKEN", `${source} holds spaces or characters outside visible ASCII; it cannot be sent in a header`);
  }
  return token;
}
