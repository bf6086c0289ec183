import { constants } from "node:fs";
import { chmod, copyFile, link, lstat, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { hashFile } from "@model-recover/md5-manifest";
import { type FileIdentity, identityOf, isFileIdentity, readSmallFile, regularFileIdentity, sameIdentity, writeFresh } from "@model-recover/safe-fs";
import { InputError } from "../errors.js";

/**
 * Verified outputs by sha256, so a cached recovery can be put back without any XOR work. An entry is
 * a hard link of the output (no extra space, no copy) made read-only, or a reflink or copy on another
 * file system. Nothing here is trusted by its size: each entry's identity (device, inode, size, mtime,
 * ctime) is recorded when it is verified, and an entry whose identity changed since (an output
 * edited in place shares its inode) is hashed again, and removed if it no longer holds its sha256.
 * The store writes and removes only inside itself: a link or a file planted where one of its folders
 * goes is refused, never followed (a link to a folder of yours would have its entries made and
 * removed there).
 */
export class OutputStore {
  constructor(readonly dir: string) {}

  /**
   * The store at `dir`, checked before any work: a folder (or nothing yet) whose entry folders are all
   * its own. Only those (`4b/`) are checked: the store's other folders (`recipes/`, `made/`) are not
   * written here, and one linked to another disk is no reason to refuse a recovery.
   */
  static async open(dir: string): Promise<OutputStore> {
    await checkStoreRoot(dir);
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (ENTRY_FOLDER.test(entry.name) && !entry.isDirectory()) throw plantedFolder(join(dir, entry.name));
    }
    return new OutputStore(dir);
  }

  private entryPath(sha256: string): string {
    return join(this.dir, sha256.slice(0, 2), sha256);
  }

  private identityPath(sha256: string): string {
    return `${this.entryPath(sha256)}.identity.json`;
  }

  /** The entry holding `sha256` (`size` bytes), if it provably still does; a bad entry is removed. */
  async trusted(sha256: string, size: number): Promise<string | undefined> {
    if (!(await this.entryFolder(sha256, false))) return undefined;
    const path = this.entryPath(sha256);
    const found = await regularFileIdentity(path);
    if (!found || found.size !== size) return this.drop(sha256);
    const recorded = await readIdentity(this.identityPath(sha256));
    if (recorded && sameIdentity(found, recorded)) return path;
    const { sha256: actual } = await hashFile(path, ["sha256"]);
    const after = await regularFileIdentity(path);
    if (actual !== sha256 || !after || !sameIdentity(found, after)) return this.drop(sha256);
    await writeFresh(this.identityPath(sha256), JSON.stringify(after));
    return path;
  }

  /** Keep a verified output; `file` is made read-only when the entry shares its inode. */
  async add(file: string, sha256: string, size: number): Promise<void> {
    if (await this.trusted(sha256, size)) return;
    await this.entryFolder(sha256, true);
    const temp = `${this.entryPath(sha256)}.${process.pid}.adding`;
    const identity = await place(file, temp, sha256);
    await rename(temp, this.entryPath(sha256));
    await writeFresh(this.identityPath(sha256), JSON.stringify(identity));
  }

  /**
   * Put `sha256` at `target` through `temp` (both in the output folder); the identity of what was put
   * there, or undefined when the store has no provably good copy.
   */
  async restore(sha256: string, size: number, temp: string, target: string): Promise<FileIdentity | undefined> {
    const entry = await this.trusted(sha256, size);
    if (!entry) return undefined;
    await rm(temp, { force: true });
    const placed = await place(entry, temp, sha256);
    await rename(temp, target);
    const after = await regularFileIdentity(target);
    return after && after.ino === placed.ino && after.size === size ? after : undefined;
  }

  /**
   * The folder `sha256`'s entry lives in (made when `make`), or undefined when there is none yet: a
   * link or file in its place, or a store that is no folder, is refused.
   */
  private async entryFolder(sha256: string, make: boolean): Promise<string | undefined> {
    await checkStoreRoot(this.dir);
    const folder = dirname(this.entryPath(sha256));
    if (make) await mkdir(folder, { recursive: true });
    const info = await lstat(folder).catch(() => undefined);
    if (info && !info.isDirectory()) throw plantedFolder(folder);
    return info ? folder : undefined;
  }

  private async drop(sha256: string): Promise<undefined> {
    await rm(this.entryPath(sha256), { force: true });
    await rm(this.identityPath(sha256), { force: true });
    return undefined;
  }
}

/**
 * A second name for verified bytes: a hard link made read-only (0444: an output that shares the inode
 * can no longer be written in place by mistake), or across file systems a reflink or copy that is
 * hashed before it counts. Returns the identity it has once placed.
 */
async function place(source: string, temp: string, sha256: string): Promise<FileIdentity> {
  try {
    await link(source, temp);
    await chmod(temp, 0o444);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EXDEV" && code !== "EPERM" && code !== "EMLINK") throw error;
    await copyFile(source, temp, constants.COPYFILE_FICLONE);
    await chmod(temp, 0o444);
    const { sha256: copied } = await hashFile(temp, ["sha256"]);
    if (copied !== sha256) {
      await rm(temp, { force: true });
      throw new Error(`${temp}: the copy does not hold sha256 ${sha256}`);
    }
  }
  return identityOf(await lstat(temp));
}

async function readIdentity(path: string): Promise<FileIdentity | undefined> {
  const value: unknown = await readSmallFile(path, 4096, "store identity").then(JSON.parse, () => undefined).catch(() => undefined);
  return isFileIdentity(value) ? value : undefined;
}

async function checkStoreRoot(dir: string): Promise<void> {
  const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw new InputError("OUT_NOT_WRITABLE", `${dir}: cannot use it as the content store (--store) (${error.code ?? error.message}); pass a folder, or a path where one can be made`);
  });
  if (info && !info.isDirectory()) throw new InputError("OUT_NOT_WRITABLE", `${dir}: is not a folder, so it cannot be the content store (--store); pass a folder, or a path where one can be made`);
}

/** The name of a folder of entries: the first two hex digits of their sha256. */
const ENTRY_FOLDER = /^[0-9a-f]{2}$/;

const plantedFolder = (path: string) => new InputError("OUT_NOT_WRITABLE", `${path}: is not a folder (a symlink?) in the content store; the store writes only inside itself: remove it and run again`);
