import type { Stats } from "node:fs";
import { lstat, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { describeKind } from "./input-file.js";
import { writeFresh } from "./write-fresh.js";

export type OutputFileErrorCode = "OUTPUT_NOT_FILE" | "OUTPUT_FOLDER_MISSING" | "OUTPUT_UNWRITABLE";

/** A file the user named as an output (`pack --recipe`, `recipe from-folder --out`) that cannot be written there. */
export class OutputFileError extends Error {
  override readonly name = "OutputFileError";
  constructor(
    readonly code: OutputFileErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** Where an output file goes and how the message names it: `recipe`, `--recipe`. */
export interface OutputFileName {
  path: string;
  what: string;
  flag: string;
}

/**
 * Refuse, before any work is done for it, an output file that could not be written as a new file at
 * its name: a folder, a FIFO, a socket or a device sits there (a rename would replace a FIFO or a
 * socket someone else uses, and fails on a folder), or its folder is missing or no folder. A file
 * or a symlink there is fine: writeFresh replaces the name itself, never writing through a link.
 */
export async function checkOutputFile(target: OutputFileName): Promise<void> {
  const { path, what, flag } = target;
  const parent = dirname(path);
  const folder = await stat(parent).catch((error: NodeJS.ErrnoException) => error);
  if (folder instanceof Error) {
    if (folder.code === "ENOENT") throw new OutputFileError("OUTPUT_FOLDER_MISSING", path, `${path}: the folder ${parent} does not exist; create it or pass another ${flag}`);
    throw new OutputFileError("OUTPUT_UNWRITABLE", path, `${path}: cannot use the folder ${parent} (${folder.code ?? folder.message}); pass another ${flag}`);
  }
  if (!folder.isDirectory()) throw new OutputFileError("OUTPUT_FOLDER_MISSING", path, `${path}: ${parent} is ${kindOf(folder)}, not a folder; pass another ${flag}`);
  const info = await lstat(path).catch(() => undefined);
  if (info && !info.isFile() && !info.isSymbolicLink()) {
    throw new OutputFileError("OUTPUT_NOT_FILE", path, `${path}: is ${kindOf(info)}, where the ${what} would be written as a file; remove it or pass another ${flag}`);
  }
}

/** checkOutputFile, then writeFresh; an error of the write (a folder that appeared since, no room, no permission) is one line too. */
export async function writeOutputFile(target: OutputFileName, data: string | Uint8Array): Promise<void> {
  await checkOutputFile(target);
  try {
    await writeFresh(target.path, data);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new OutputFileError("OUTPUT_UNWRITABLE", target.path, `${target.path}: cannot write the ${target.what} (${code}); pass another ${target.flag}`);
  }
}

const kindOf = (info: Stats) => (info.isFile() ? "a file" : describeKind(info));
