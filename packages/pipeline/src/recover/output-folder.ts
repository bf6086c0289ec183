import { constants } from "node:fs";
import { access, link, lstat, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { InputError } from "../errors.js";
import { makeFolder } from "../make-folder.js";
import type { FileTask } from "./plan.js";
import { isPartialName, partialName } from "./temp-output.js";

const STATE_DIR = ".model-recover";

/** What must be unchanged for a partly written output to be continued rather than started over. */
export interface PartialRecord {
  name: string;
  /** Bytes of the temporary output that are on disk (fsynced) and were produced from these inputs. */
  durableBytes: number;
  inputs: string;
}

/**
 * The output folder as this tool uses it: created if needed, locked against a second run, and home
 * to the state directory (receipts, resume records). Nothing is ever written outside it, and the state
 * directory is refused if it is anything but a real directory (a planted symlink would lead writes out).
 */
export class OutputFolder {
  private constructor(
    readonly dir: string,
    readonly stateDir: string,
  ) {}

  static async claim(dir: string): Promise<OutputFolder> {
    try {
      await makeFolder(dir);
      const stateDir = join(dir, STATE_DIR);
      for (const folder of [stateDir, join(stateDir, "partial")]) {
        await makeFolder(folder);
        const info = await lstat(folder);
        if (!info.isDirectory()) throw new InputError("OUT_NOT_WRITABLE", `${folder}: is not a folder (a symlink?); remove it and run again`);
      }
      const folder = new OutputFolder(dir, stateDir);
      await folder.lock();
      await folder.removeLeftovers();
      return folder;
    } catch (error) {
      if (error instanceof InputError) throw error;
      const code = await trueCause(dir, error as NodeJS.ErrnoException);
      throw new InputError("OUT_NOT_WRITABLE", `${dir}: cannot create or use the output folder (${code}); pass another --out`);
    }
  }

  /**
   * One run per output folder: a lock file naming the run; a lock whose process is gone is taken over.
   * The lock appears with its content in one step (a link of a finished file), so another run never
   * reads a half-written lock and mistakes it for a stale one.
   */
  private async lock(): Promise<void> {
    const path = join(this.stateDir, "lock");
    const mine = join(this.stateDir, `lock.${process.pid}`);
    await writeFresh(mine, JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() }));
    try {
      await this.takeLock(mine, path);
    } finally {
      await rm(mine, { force: true });
    }
  }

  private async takeLock(mine: string, path: string): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(mine, path);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const holder = await readFile(path, "utf8").then((t) => JSON.parse(t) as { pid: number; host: string; started: string }).catch(() => undefined);
        if (holder && holder.host !== hostname()) {
          // A run on another machine (a shared file system) cannot be checked from here.
          throw new InputError("OUT_BUSY", `${this.dir}: a model-recover on ${holder.host} (pid ${holder.pid}, started ${holder.started}) holds this folder; wait for it, or remove ${path} if that run is gone`);
        }
        if (holder && isAlive(holder.pid)) {
          throw new InputError("OUT_BUSY", `${this.dir}: another model-recover (pid ${holder.pid}, started ${holder.started}) is recovering into this folder; wait for it to finish or stop it`);
        }
        await rm(path, { force: true });
      }
    }
  }

  /** Half-written state files of a run killed mid-write (only this run may use the folder now). */
  private async removeLeftovers(): Promise<void> {
    for (const folder of [this.stateDir, join(this.stateDir, "partial")]) {
      for (const name of await readdir(folder)) {
        if (name.endsWith(".tmp") || /^lock\.\d+$/.test(name)) await rm(join(folder, name), { force: true });
      }
    }
  }

  async release(): Promise<void> {
    await rm(join(this.stateDir, "lock"), { force: true });
  }

  /** How far `task` may continue from: the durable bytes of its temporary output, if made from the same inputs. */
  async resumePoint(task: FileTask, inputs: string): Promise<number> {
    const record = await readFile(this.recordPath(task.entry.name), "utf8").then((t) => JSON.parse(t) as PartialRecord).catch(() => undefined);
    if (!record || record.inputs !== inputs || record.name !== task.entry.name) return 0;
    const temp = await lstat(join(this.dir, partialName(task.entry.name))).catch(() => undefined);
    return temp?.isFile() && temp.size >= record.durableBytes && record.durableBytes <= task.outputBytes ? record.durableBytes : 0;
  }

  async saveProgress(record: PartialRecord): Promise<void> {
    const path = this.recordPath(record.name);
    await writeFresh(`${path}.tmp`, JSON.stringify(record));
    await rename(`${path}.tmp`, path);
  }

  async forget(name: string): Promise<void> {
    await rm(this.recordPath(name), { force: true });
  }

  /** Forget `name`'s progress and remove its temporary output: the file is done. */
  async dropPartial(name: string): Promise<void> {
    await this.forget(name);
    await rm(join(this.dir, partialName(name)), { force: true });
  }

  /** Temporary files no resumable task will continue: left by a crash, or from other inputs. */
  async removeStalePartials(keep: Set<string>): Promise<void> {
    for (const name of await readdir(this.dir)) {
      if (isPartialName(name) && !keep.has(name)) await rm(join(this.dir, name), { force: true });
    }
  }

  private recordPath(name: string): string {
    return join(this.stateDir, "partial", `${encodeURIComponent(name)}.json`);
  }
}

/** The identity of a task's inputs: a resumed file must come from the very same download and base. */
export async function inputsIdentity(task: FileTask, basePath: string, extra: string): Promise<string> {
  const ident = async (path: string) => {
    const info = await stat(path).catch(() => undefined);
    return info ? `${info.size}:${info.mtimeMs}:${info.ino}` : "absent";
  };
  return [await ident(task.source), await ident(basePath), task.sha256 ?? "", task.entry.md5 ?? "", extra].join("|");
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A recursive mkdir on a read-only file system reports ENOENT; asking the nearest folder that exists
 * whether it can be written to gives the cause a user can act on (EROFS, EACCES).
 */
async function trueCause(dir: string, error: NodeJS.ErrnoException): Promise<string> {
  if (error.code !== "ENOENT") return error.code ?? error.message;
  let ancestor = dirname(dir);
  while (!(await stat(ancestor).catch(() => undefined)) && dirname(ancestor) !== ancestor) ancestor = dirname(ancestor);
  return access(ancestor, constants.W_OK).then(
    () => "ENOENT",
    (denied: NodeJS.ErrnoException) => denied.code ?? "ENOENT",
  );
}

/** Write a new file, never through whatever (a planted symlink) was at its name; rename then replaces atomically. */
export async function writeFresh(path: string, text: string): Promise<void> {
  await rm(path, { force: true });
  await writeFile(path, text, { flag: "wx" });
}
