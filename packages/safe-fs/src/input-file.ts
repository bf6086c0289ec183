import { constants, type Stats } from "node:fs";
import { lstat, open, stat, type FileHandle } from "node:fs/promises";

export type InputFileErrorCode = "INPUT_MISSING" | "INPUT_NOT_REGULAR" | "INPUT_DANGLING_LINK" | "INPUT_TOO_BIG" | "INPUT_UNREADABLE";

/** An input (a recipe, a config, a base, a download) that cannot be read as a regular file. */
export class InputFileError extends Error {
  override readonly name = "InputFileError";
  constructor(
    readonly code: InputFileErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a non-regular file is, in words: "a FIFO", "a folder", … */
export function describeKind(info: Stats): string {
  if (info.isDirectory()) return "a folder";
  if (info.isFIFO()) return "a FIFO (named pipe)";
  if (info.isSocket()) return "a socket";
  if (info.isCharacterDevice() || info.isBlockDevice()) return "a device";
  if (info.isSymbolicLink()) return "a symlink";
  return "not a regular file";
}

/**
 * Open an input for reading only if it is a regular file (symlinks followed: inputs are read, never
 * written). O_NONBLOCK makes opening a FIFO return at once instead of hanging until a writer comes
 * (and two Ctrl-C could not stop a thread blocked there); the descriptor is then checked, so a file
 * swapped for a FIFO between a stat and the open is refused too. Reads of regular files ignore it.
 */
export async function openRegularFile(path: string, what = "input"): Promise<{ handle: FileHandle; info: Stats }> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw await explainOpenError(path, what, error as NodeJS.ErrnoException);
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    throw new InputFileError("INPUT_NOT_REGULAR", path, `${path}: is ${describeKind(info)}, expected the ${what} as a regular file`);
  }
  return { handle, info };
}

/** `stat` of an input that must be a regular file, with the same errors as openRegularFile. */
export async function statRegularFile(path: string, what = "input"): Promise<Stats> {
  const info = await stat(path).catch(async (error: NodeJS.ErrnoException) => {
    throw await explainOpenError(path, what, error);
  });
  if (!info.isFile()) throw new InputFileError("INPUT_NOT_REGULAR", path, `${path}: is ${describeKind(info)}, expected the ${what} as a regular file`);
  return info;
}

/** Read a small input whole (a recipe, a config), refusing anything larger than `maxBytes` before reading it. */
export async function readSmallFile(path: string, maxBytes: number, what = "input"): Promise<string> {
  const { handle, info } = await openRegularFile(path, what);
  try {
    if (info.size > maxBytes) throw new InputFileError("INPUT_TOO_BIG", path, `${path}: ${info.size} bytes is too big for ${article(what)} (at most ${maxBytes})`);
    // Room for the size fstat gave and one byte more: a file that grew since (still being written)
    // is refused, never read without end, and a small file costs a small buffer whatever the limit.
    const buffer = Buffer.alloc(info.size + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled > info.size) throw new InputFileError("INPUT_TOO_BIG", path, `${path}: grew past its ${info.size} bytes while being read; is it still being written?`);
    }
    return buffer.subarray(0, filled).toString("utf8");
  } finally {
    await handle.close();
  }
}

async function explainOpenError(path: string, what: string, error: NodeJS.ErrnoException): Promise<InputFileError> {
  if (error.code === "ENOENT") {
    const link = await lstat(path).catch(() => undefined);
    if (link?.isSymbolicLink()) return new InputFileError("INPUT_DANGLING_LINK", path, `${path}: is a symlink to a file that does not exist (a dangling link); point it at the ${what} or pass the file itself`);
    return new InputFileError("INPUT_MISSING", path, `${path}: ${what} not found`);
  }
  // A socket cannot be opened at all (ENXIO); what it is says more than the error code.
  const info = await stat(path).catch(() => undefined);
  if (info && !info.isFile()) return new InputFileError("INPUT_NOT_REGULAR", path, `${path}: is ${describeKind(info)}, expected the ${what} as a regular file`);
  if (error.code === "ELOOP") return new InputFileError("INPUT_UNREADABLE", path, `${path}: is a symlink loop; point it at the ${what}`);
  return new InputFileError("INPUT_UNREADABLE", path, `${path}: cannot read the ${what} (${error.code ?? error.message})`);
}

const article = (what: string) => (/^[aeiou]/i.test(what) ? `an ${what}` : `a ${what}`);
