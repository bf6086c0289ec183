import { hashFile } from "@model-recover/md5-manifest";
import type { KeyFile } from "@model-recover/xor-core";
import { VerificationError } from "../errors.js";
import type { FileTask } from "./plan.js";

export type Check = "header-sha256" | "card-md5";

/** How much to verify: everything (the default), or the header's sha256 alone (no md5 pass). */
export type VerifyMode = "full" | "sha256";

export interface VerifiedFile {
  name: string;
  bytes: number;
  /** Absent when md5 was not computed (`--verify sha256`). */
  md5?: string;
  sha256?: string;
  /** The checks that passed; a check the recipe cannot make (hash unknown) or was told to skip is absent. */
  checks: Check[];
}

/**
 * The hashes a file needs under `mode`: sha256 always (the header's check for an encrypted file, the
 * output store's key for every file), and the card's md5 unless skipped. A clear file's md5 is its
 * only check, so it is never skipped.
 */
export function algorithmsFor(task: FileTask, mode: VerifyMode): ("md5" | "sha256")[] {
  const md5 = task.entry.md5 !== null && (task.kind === "copy" || mode === "full");
  return md5 ? ["md5", "sha256"] : ["sha256"];
}

/** Compare a file's digests with its header and the card; throw a VerificationError that says whom to blame. */
export async function verifyDigests(task: FileTask, digests: { md5?: string; sha256?: string }, key: KeyFile): Promise<Check[]> {
  const checks: Check[] = [];
  const name = task.entry.name;
  if (task.kind === "decrypt") {
    if (digests.sha256 !== task.entry.sha256) throw await blame(task, key, `sha256 ${digests.sha256}, header says ${task.entry.sha256}`);
    checks.push("header-sha256");
  }
  const md5 = task.entry.md5;
  if (md5 !== null && digests.md5 !== undefined) {
    if (digests.md5 !== md5) {
      if (task.kind === "copy") throw new VerificationError(name, `${task.source}: md5 ${digests.md5} but the card says ${md5}; this copy of ${name} is not the published one`);
      throw await blame(task, key, `md5 ${digests.md5}, card says ${md5}`);
    }
    checks.push("card-md5");
  }
  return checks;
}

/**
 * A wrong result has two possible causes: a corrupt download or a wrong base. Re-hashing the `.enc`
 * against the card's md5 tells them apart (spec §1, verification).
 */
async function blame(task: FileTask & { kind: "decrypt" }, key: KeyFile, mismatch: string): Promise<VerificationError> {
  const name = task.entry.name;
  const published = task.entry.encMd5;
  const what = `${name} did not verify (${mismatch}); nothing was written under its name`;
  if (published === null) {
    return new VerificationError(name, `${what}. The card publishes no md5 for ${task.sourceName}: either it is corrupt (download it again) or ${key.path} is not the right base`);
  }
  const { md5 } = await hashFile(task.source, ["md5"]);
  if (md5 !== published) {
    return new VerificationError(name, `${what}. ${task.source} is corrupt: md5 ${md5}, the card says ${published}; download it again`);
  }
  return new VerificationError(name, `${what}. ${task.sourceName} matches the card, so the base is wrong: ${key.path} is not the file the recipe needs (check it with md5sum)`);
}
