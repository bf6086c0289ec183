import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { access, lstat, readdir, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isWriteFreshTemp, makeFolder, writeFresh } from "@model-recover/safe-fs";
import { KEY_CHUNK_BYTES } from "@model-recover/xor-core";
import { InputError } from "../errors.js";
import { STATE_DIR } from "../state-names.js";
import { readState, releaseFolderLock, takeFolderLock } from "./folder-lock.js";
import type { FileTask } from "./plan.js";
import { writesSource } from "./to-safetensors.js";

/**
 * The state folder inside every output folder (a name refused in recipes): temporary outputs, resume
 * records, receipts and the lock live in a namespace no output can reach.
 */
export { STATE_DIR };

/** What must be unchanged for a partly written output to be continued rather than started over. */
export interface PartialRecord {
  name: string;
  /** Bytes of the temporary output that are on disk (fsynced) and were produced from these inputs. */
  durableBytes: number;
  inputs: string;
}

/**
 * A fixed-length name for everything kept about one output: a hash of its name, so that a long or
 * non-ASCII name (255 bytes of CJK) never makes a state file name too long for the file system.
 */
const stateId = (name: string) => createHash("sha256").update(name).digest("hex").slice(0, 32);

/**
 * The output folder as this tool uses it: created if needed, locked against a second run, and home
 * to the state folder. Nothing is ever written outside it, and the state folder is refused if it is
 * anything but a real directory (a planted symlink would lead writes out).
 */
export class OutputFolder {
  readonly stateDir: string;
  private readonly partialDir: string;

  private constructor(readonly dir: string) {
    this.stateDir = join(dir, STATE_DIR);
    this.partialDir = join(this.stateDir, "partial");
  }

  static async claim(dir: string): Promise<OutputFolder> {
    const folder = new OutputFolder(dir);
    try {
      await makeFolder(dir);
      for (const path of [folder.stateDir, folder.partialDir]) {
        await makeFolder(path);
        const info = await lstat(path);
        if (!info.isDirectory()) throw new InputError("OUT_NOT_WRITABLE", `${path}: is not a folder (a symlink?); remove it and run again`);
      }
      await takeFolderLock(dir, folder.stateDir);
      await folder.removeLeftovers();
      return folder;
    } catch (error) {
      if (error instanceof InputError) throw error;
      const code = await trueCause(dir, error as NodeJS.ErrnoException);
      throw new InputError("OUT_NOT_WRITABLE", `${dir}: cannot create or use the output folder (${code}); pass another --out`);
    }
  }

  /** Where `name` is written before it verified (same file system as its final name, for the rename). */
  partialPath(name: string): string {
    return join(this.partialDir, `${stateId(name)}.part`);
  }

  /** A scratch file kept for `name` while it is recovered (a gunzipped payload, a restored copy). */
  scratchPath(name: string, kind: "gunzip" | "restore"): string {
    return join(this.partialDir, `${stateId(name)}.${kind}`);
  }

  /** Half-written state files of a run killed mid-write (only this run may use the folder now). */
  private async removeLeftovers(): Promise<void> {
    for (const folder of [this.stateDir, this.partialDir]) {
      for (const name of await readdir(folder)) {
        if (isWriteFreshTemp(name) || /^lock\.\d+$/.test(name)) await rm(join(folder, name), { force: true });
      }
    }
  }

  async release(): Promise<void> {
    await releaseFolderLock(this.stateDir);
  }

  /**
   * How far `task` may continue from: the durable bytes of its temporary output, if made from the same
   * inputs. A record is read as untrusted: one this code would not have written (another name, a
   * point off a chunk boundary, past the file or the output) means starting over.
   */
  async resumePoint(task: FileTask, inputs: string): Promise<number> {
    const record = await readState<PartialRecord>(this.recordPath(task.entry.name));
    if (!record || record.inputs !== inputs || record.name !== task.entry.name || !Number.isSafeInteger(record.durableBytes) || record.durableBytes % KEY_CHUNK_BYTES !== 0) return 0;
    const temps = writesSource(task) ? [task.entry.name] : [];
    if (task.convert?.to === "safetensors-shard") temps.push(task.convert.name);
    for (const name of temps) {
      const temp = await lstat(this.partialPath(name)).catch(() => undefined);
      // The recovered bytes are a prefix on disk; a converted file's are scattered (only its presence counts).
      // A file with another name too (a hard link of one of yours) is never continued in place: it starts over, afresh.
      if (!temp?.isFile() || temp.nlink !== 1 || (name === task.entry.name && temp.size < record.durableBytes)) return 0;
    }
    return record.durableBytes >= 0 && record.durableBytes <= task.outputBytes ? record.durableBytes : 0;
  }

  async saveProgress(record: PartialRecord): Promise<void> {
    await writeFresh(this.recordPath(record.name), JSON.stringify(record));
  }

  async forget(name: string): Promise<void> {
    await rm(this.recordPath(name), { force: true });
  }

  /** Forget `name`'s progress and remove its temporary output: the file is done. */
  async dropPartial(name: string): Promise<void> {
    await this.forget(name);
    await rm(this.partialPath(name), { force: true });
  }

  /** Temporary outputs and scratch files no resumable task will continue: left by a crash, or from other inputs. */
  async removeStalePartials(resumable: Set<string>): Promise<void> {
    const keep = new Set([...resumable].map((name) => this.partialPath(name)));
    for (const name of await readdir(this.partialDir)) {
      const path = join(this.partialDir, name);
      if (!name.endsWith(".json") && !keep.has(path)) await rm(path, { force: true });
    }
  }

  private recordPath(name: string): string {
    return join(this.partialDir, `${stateId(name)}.json`);
  }
}

/** The identity of a task's inputs: a resumed file must come from the very same download and base. */
export async function inputsIdentity(task: FileTask, basePath: string, extra: string): Promise<string> {
  const ident = async (path: string) => {
    const info = await stat(path).catch(() => undefined);
    return info ? `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}` : "absent";
  };
  // A remote payload has no inode: its content digest on the Hub says whether it is the same download.
  const source = task.remote ? `remote:${task.remote.identity}` : await ident(task.source);
  return [source, await ident(basePath), task.sha256 ?? "", task.entry.md5 ?? "", extra].join("|");
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
