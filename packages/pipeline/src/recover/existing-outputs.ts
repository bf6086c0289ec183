import { lstat, rm } from "node:fs/promises";
import { join } from "node:path";
import { hashFile } from "@model-recover/md5-manifest";
import { identityOf, regularFileIdentity, sameIdentity } from "@model-recover/safe-fs";
import type { OutputStore } from "../cache/output-store.js";
import { InputError } from "../errors.js";
import type { OutputFolder } from "./output-folder.js";
import { outputNames } from "./to-safetensors.js";
import type { FileStatus, RecoverEvent } from "./events.js";
import type { FileTask } from "./plan.js";
import type { ReceiptBook } from "./receipts.js";
import { algorithmsFor, type Check, type VerifyMode } from "./verify.js";

type Digests = { md5?: string; sha256?: string };

/** What an earlier verified run says an output is (a turbo cache hit's receipt), for putting it back from the store. */
export interface KnownOutput {
  sha256: string;
  size: number;
  md5?: string;
}

export interface SettleContext {
  folder: OutputFolder;
  receipts: ReceiptBook;
  mode: VerifyMode;
  onEvent: (event: RecoverEvent) => void;
  store?: OutputStore;
  known?: Map<string, KnownOutput>;
}

/**
 * Files already under a final name in the output folder: reused when a receipt vouches for them,
 * adopted when they verify (outputs of the published scripts, say), removed otherwise, so that no
 * unverified file is left under a final name whatever this run does. Then, where an earlier run's
 * receipt is known, missing files are put back from the output store, without XOR work.
 */
export async function settleExistingOutputs(tasks: FileTask[], context: SettleContext): Promise<Map<string, FileStatus[]>> {
  const verified = new Map<string, FileStatus[]>();
  for (const task of tasks) {
    if (task.convert) {
      const statuses = await settleConverted(task, context);
      if (statuses) verified.set(task.entry.name, statuses);
      continue;
    }
    const status = (await settleOne(task, context)) ?? (await restoreFromStore(task, context));
    if (status) verified.set(task.entry.name, [status]);
  }
  return verified;
}

async function settleOne(task: FileTask, { folder, receipts, mode, onEvent }: SettleContext): Promise<FileStatus | undefined> {
  const name = task.entry.name;
  const info = await existing(folder, name);
  if (!info) return undefined;
  const path = join(folder.dir, name);
  const receipt = info.isFile() ? await receipts.current(name) : undefined;
  if (receipt && receipt.identity.size === task.outputBytes && verifies(task, receipt, mode)) return reused(task, mode, receipt, receipt.identity.size);
  if (info.isFile() && info.size === task.outputBytes && canVerify(task)) {
    const digests = await hashFile(path, algorithmsFor(task, mode));
    const after = await regularFileIdentity(path);
    // Adopted only if it did not change while it was hashed: the receipt vouches for what was hashed.
    if (verifies(task, digests, mode) && after && sameIdentity(after, identityOf(info))) {
      await receipts.record(name, digests);
      return reused(task, mode, digests, info.size);
    }
  }
  await removeUnverified(folder, name, onEvent);
  return undefined;
}

/**
 * A task with a converted output (--to safetensors) is reused only when every file it publishes is
 * there and a receipt vouches for it: a converted file has no published hash of its own, so one
 * without a receipt that names the verified file it was made from is never adopted.
 */
async function settleConverted(task: FileTask, context: SettleContext): Promise<FileStatus[] | undefined> {
  const { folder, receipts, mode, onEvent } = context;
  const statuses: FileStatus[] = [];
  for (const name of outputNames(task)) {
    if (name === task.entry.name) {
      const status = await settleOne(task, context);
      if (status) statuses.push(status);
      continue;
    }
    const info = await existing(folder, name);
    if (!info) continue;
    const receipt = info.isFile() ? await receipts.current(name) : undefined;
    if (receipt?.from?.name === task.entry.name && verifies(task, receipt.from, mode)) {
      statuses.push({ status: "verified", file: { name, bytes: receipt.identity.size, checks: checksFor(task, mode), from: task.entry.name }, reused: true });
    } else await removeUnverified(folder, name, onEvent);
  }
  return statuses.length === outputNames(task).length ? statuses : undefined;
}

/** What sits under an output's final name; a folder there is the user's to move. */
async function existing(folder: OutputFolder, name: string) {
  const path = join(folder.dir, name);
  const info = await lstat(path).catch(() => undefined);
  if (info?.isDirectory()) throw new InputError("OUT_NOT_WRITABLE", `${path}: is a folder where ${name} goes; move it away or pass another --out`);
  return info;
}

/** Never followed: a symlink planted under a final name is removed, not written through. */
async function removeUnverified(folder: OutputFolder, name: string, onEvent: (event: RecoverEvent) => void): Promise<void> {
  await rm(join(folder.dir, name), { force: true });
  onEvent({ type: "unverified-removed", name });
}

async function restoreFromStore(task: FileTask, { folder, receipts, mode, onEvent, store, known }: SettleContext): Promise<FileStatus | undefined> {
  const name = task.entry.name;
  const output = known?.get(name);
  if (!store || !output || output.size !== task.outputBytes || !verifies(task, output, mode)) return undefined;
  const placed = await store.restore(output.sha256, output.size, folder.scratchPath(name, "restore"), join(folder.dir, name));
  if (!placed) return undefined;
  await receipts.record(name, output);
  onEvent({ type: "restored", name });
  return { ...reused(task, mode, output, output.size), restored: true };
}

function reused(task: FileTask, mode: VerifyMode, digests: Digests, bytes: number): FileStatus & { status: "verified" } {
  return { status: "verified", file: { name: task.entry.name, bytes, ...digestsOf(digests), checks: checksFor(task, mode) }, reused: true };
}

function canVerify(task: FileTask): boolean {
  return (task.headerBytes > 0 && task.sha256 !== undefined) || task.entry.md5 !== null;
}

function verifies(task: FileTask, digests: Digests, mode: VerifyMode): boolean {
  const md5Needed = task.entry.md5 !== null && (task.headerBytes === 0 || mode === "full");
  if (task.headerBytes > 0 && digests.sha256 !== task.sha256) return false;
  if (task.headerBytes === 0 && task.entry.md5 === null) return false;
  return !md5Needed || digests.md5 === task.entry.md5;
}

function checksFor(task: FileTask, mode: VerifyMode): Check[] {
  const checks: Check[] = task.headerBytes > 0 ? ["header-sha256"] : [];
  if (algorithmsFor(task, mode).includes("md5")) checks.push("card-md5");
  return checks;
}

function digestsOf(digests: Digests): Digests {
  return { ...(digests.md5 ? { md5: digests.md5 } : {}), ...(digests.sha256 ? { sha256: digests.sha256 } : {}) };
}
