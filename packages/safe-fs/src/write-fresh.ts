import { randomBytes } from "node:crypto";
import { rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Write `path` as a new file, never through whatever is at its name (a planted symlink would lead the
 * write outside the folder): the bytes go to a temporary name created exclusively next to it, then a
 * rename replaces the name itself (a rename never follows a link). Readers see the old file or the
 * new one, never half of it.
 */
export async function writeFresh(path: string, data: string | Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    await writeFile(temp, data, { flag: "wx", mode: 0o644 });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** The temporary names writeFresh uses, so that a folder's owner can clear those a killed run left. */
export const isWriteFreshTemp = (name: string) => /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/.test(name);
