import type { Stats } from "node:fs";
import { lstat, rename, rm, type FileHandle } from "node:fs/promises";

/**
 * What says a file is the very file it was: device, inode, size, mtime and ctime, as git's index
 * keeps them. Any write changes mtime and ctime, and ctime cannot be set back by a user, so a byte
 * changed in place under a restored mtime still shows.
 */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export function identityOf(info: Stats): FileIdentity {
  return { dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

export function isFileIdentity(value: unknown): value is FileIdentity {
  const v = value as FileIdentity;
  return [v?.dev, v?.ino, v?.size, v?.mtimeMs, v?.ctimeMs].every((n) => typeof n === "number" && Number.isFinite(n) && n >= 0);
}

/** The identity of the regular file at `path` (never followed), or undefined when it is anything else. */
export async function regularFileIdentity(path: string): Promise<FileIdentity | undefined> {
  const info = await lstat(path).catch(() => undefined);
  return info?.isFile() ? identityOf(info) : undefined;
}

export class PublishError extends Error {
  override readonly name = "PublishError";
  readonly code = "PUBLISH_TAMPERED";
}

/**
 * Rename the file open as `handle` from `tempPath` to `finalPath`, only if `tempPath` still is that
 * file (same device and inode, a regular file, not a symlink) of exactly `expectedSize` bytes: what
 * is published is what was written and hashed through `handle`, never whatever another program put
 * at the temporary name. The final name is checked again after the rename; if something raced in
 * between, the final name is removed and nothing is published. Returns the published identity.
 */
export async function publishHandle(handle: FileHandle, tempPath: string, finalPath: string, expectedSize: number): Promise<FileIdentity> {
  const written = await handle.stat();
  if (written.size !== expectedSize) {
    throw new PublishError(`${tempPath}: changed by another program while being written (${written.size} bytes, expected ${expectedSize}); nothing was published`);
  }
  const before = await lstat(tempPath).catch(() => undefined);
  if (!before?.isFile() || before.dev !== written.dev || before.ino !== written.ino) {
    throw new PublishError(`${tempPath}: was replaced by another file or a link while being written; nothing was published`);
  }
  await rename(tempPath, finalPath);
  const after = await lstat(finalPath).catch(() => undefined);
  if (!after?.isFile() || after.dev !== written.dev || after.ino !== written.ino || after.size !== expectedSize) {
    await rm(finalPath, { force: true });
    throw new PublishError(`${finalPath}: was replaced while being published; nothing was published`);
  }
  return identityOf(after);
}
