import { constants } from "node:fs";
import { copyFile, link, lstat, mkdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Recovered files by sha256, so a cached recovery can be put back without any XOR work. Files go in
 * as hard links (no extra space, no copy) where store and output share a file system, else as
 * reflinks or copies. Nothing here is trusted blindly: a restored file is checked against its size.
 */
export class OutputStore {
  constructor(readonly dir: string) {}

  pathOf(sha256: string): string {
    return join(this.dir, sha256.slice(0, 2), sha256);
  }

  async has(sha256: string, size: number): Promise<boolean> {
    const info = await lstat(this.pathOf(sha256)).catch(() => undefined);
    return info?.isFile() === true && info.size === size;
  }

  /** Add a verified output (a no-op when the store already holds that content). */
  async add(file: string, sha256: string, size: number): Promise<void> {
    if (await this.has(sha256, size)) return;
    await mkdir(join(this.dir, sha256.slice(0, 2)), { recursive: true });
    await placeAtomically(file, this.pathOf(sha256));
  }

  /** Put `sha256` back at `target` (a temporary name, then a rename); false if the store lacks it. */
  async restore(sha256: string, size: number, target: string): Promise<boolean> {
    if (!(await this.has(sha256, size))) return false;
    await placeAtomically(this.pathOf(sha256), target);
    const info = await lstat(target);
    return info.isFile() && info.size === size;
  }
}

async function placeAtomically(source: string, target: string): Promise<void> {
  // The output folder's own temporary form, so an interrupted restore is cleaned like any other.
  const temp = join(dirname(target), `.${basename(target)}.model-recover-partial`);
  await rm(temp, { force: true });
  try {
    await link(source, temp);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EXDEV" && code !== "EPERM" && code !== "EMLINK") throw error;
    // Another file system: a reflink where it can (btrfs, XFS, APFS), a copy otherwise.
    await copyFile(source, temp, constants.COPYFILE_FICLONE);
  }
  await rename(temp, target);
}
