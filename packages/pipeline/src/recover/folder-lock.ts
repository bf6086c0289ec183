import { link, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { readSmallFile, writeFresh } from "@model-recover/safe-fs";
import { InputError } from "../errors.js";

interface LockHolder {
  pid: number;
  host: string;
  started: string;
}

/**
 * One run per folder that recover, download or --keep-enc writes: a lock file naming the run, in the
 * folder's state folder (`<dir>/.model-recover/lock`, which must exist); a lock whose process is gone
 * is taken over. The lock appears with its content in one step (a link of a finished file), so
 * another run never reads a half-written lock and mistakes it for a stale one. A file system without
 * hard links (exFAT, FAT32: link fails with EPERM) gets the lock created exclusively instead.
 */
export async function takeFolderLock(dir: string, stateDir: string): Promise<void> {
  const path = join(stateDir, "lock");
  const mine = join(stateDir, `lock.${process.pid}`);
  const text = JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() });
  await rm(mine, { force: true });
  await writeFresh(mine, text);
  try {
    await linkLock(dir, path, () => link(mine, path).catch((error: NodeJS.ErrnoException) => {
      if (!NO_HARD_LINKS.has(error.code ?? "")) throw error;
      return writeFile(path, text, { flag: "wx" });
    }));
  } finally {
    await rm(mine, { force: true });
  }
}

/** What link reports on a file system that has no hard links. */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

export async function releaseFolderLock(stateDir: string): Promise<void> {
  await rm(join(stateDir, "lock"), { force: true });
}

async function linkLock(dir: string, path: string, place: () => Promise<void>): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await place();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = await readState<LockHolder>(path);
      if (holder && holder.host !== hostname()) {
        // A run on another machine (a shared file system) cannot be checked from here.
        throw new InputError("OUT_BUSY", `${dir}: a model-recover on ${holder.host} (pid ${holder.pid}, started ${holder.started}) holds this folder; wait for it, or remove ${path} if that run is gone`);
      }
      if (holder && isAlive(holder.pid)) {
        throw new InputError("OUT_BUSY", `${dir}: another model-recover (pid ${holder.pid}, started ${holder.started}) is using this folder; wait for it to finish or stop it`);
      }
      await rm(path, { force: true });
    }
  }
}

/**
 * A small state file (the lock, a resume record) as JSON, or undefined when it is anything else: read
 * only as a regular file, so a FIFO planted under its name cannot hang the run, nor a huge file fill memory.
 */
export async function readState<T>(path: string): Promise<T | undefined> {
  return readSmallFile(path, 64 * 1024, "state file").then((text) => JSON.parse(text) as T, () => undefined).catch(() => undefined);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
