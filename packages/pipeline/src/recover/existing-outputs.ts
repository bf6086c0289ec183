import { lstat, rm } from "node:fs/promises";
import { join } from "node:path";
import { hashFile } from "@model-recover/md5-manifest";
import { InputError } from "../errors.js";
import type { FileStatus, RecoverEvent } from "./events.js";
import type { FileTask } from "./plan.js";
import type { ReceiptBook } from "./receipts.js";
import { algorithmsFor, type Check, type VerifyMode } from "./verify.js";

type Digests = { md5?: string; sha256?: string };

/**
 * Files already under a final name in the output folder: reused when a receipt vouches for them,
 * adopted when they verify (outputs of the published scripts, say), removed otherwise, so that no
 * unverified file is left under a final name whatever this run does.
 */
export async function settleExistingOutputs(tasks: FileTask[], outDir: string, receipts: ReceiptBook, mode: VerifyMode, onEvent: (event: RecoverEvent) => void): Promise<Map<string, FileStatus>> {
  const verified = new Map<string, FileStatus>();
  for (const task of tasks) {
    const name = task.entry.name;
    const path = join(outDir, name);
    const info = await lstat(path).catch(() => undefined);
    if (!info) continue;
    if (info.isDirectory()) throw new InputError("OUT_NOT_WRITABLE", `${path}: is a folder where ${name} goes; move it away or pass another --out`);
    const receipt = info.isFile() ? await receipts.current(name) : undefined;
    if (receipt && receipt.identity.size === task.outputBytes && verifies(task, receipt, mode)) {
      verified.set(name, { status: "verified", file: { name, bytes: receipt.identity.size, ...digestsOf(receipt), checks: checksFor(task, mode) }, reused: true });
      continue;
    }
    if (info.isFile() && info.size === task.outputBytes && canVerify(task)) {
      const digests = await hashFile(path, algorithmsFor(task, mode));
      if (verifies(task, digests, mode)) {
        await receipts.record(name, digests);
        verified.set(name, { status: "verified", file: { name, bytes: info.size, ...digestsOf(digests), checks: checksFor(task, mode) }, reused: true });
        continue;
      }
    }
    // Never followed: a symlink planted under a final name is removed, not written through.
    await rm(path, { force: true });
    onEvent({ type: "unverified-removed", name });
  }
  return verified;
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
