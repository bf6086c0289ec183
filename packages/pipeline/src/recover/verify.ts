import { hashFile } from "@model-recover/md5-manifest";
import { VerificationError } from "../errors.js";
import type { LoadedRecipe } from "../recipe/types.js";
import type { KeyProvider } from "./keys.js";
import type { FileTask } from "./plan.js";
import { hashPayload } from "./payload-source.js";

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
  /** A converted output (--to safetensors): the recovered file whose checks these are. */
  from?: string;
}

/**
 * The hashes a file needs under `mode`: sha256 always (the header's check where there is one, the
 * output store's key for every file), and the card's md5 unless skipped. Where there is no header
 * the md5 is the only check, so it is never skipped.
 */
export function algorithmsFor(task: FileTask, mode: VerifyMode): ("md5" | "sha256")[] {
  const md5 = task.entry.md5 !== null && (task.headerBytes === 0 || mode === "full");
  return md5 ? ["md5", "sha256"] : ["sha256"];
}

/** Compare a file's digests with its header and the card; throw a VerificationError that says whom to blame. */
export async function verifyDigests(task: FileTask, digests: { md5?: string; sha256?: string }, loaded: LoadedRecipe, keys: KeyProvider): Promise<Check[]> {
  const checks: Check[] = [];
  if (task.headerBytes > 0 && task.sha256) {
    if (digests.sha256 !== task.sha256) throw await blame(task, loaded, keys, `sha256 ${digests.sha256}, header says ${task.sha256}`);
    checks.push("header-sha256");
  }
  const md5 = task.entry.md5;
  if (md5 !== null && digests.md5 !== undefined) {
    if (digests.md5 !== md5) throw await blame(task, loaded, keys, `md5 ${digests.md5}, card says ${md5}`);
    checks.push("card-md5");
  }
  return checks;
}

/**
 * A wrong result has two possible causes: a corrupt download or a wrong base. Re-hashing the
 * download against the card's md5, and a base file against the base's, tells them apart.
 */
async function blame(task: FileTask, loaded: LoadedRecipe, keys: KeyProvider, mismatch: string): Promise<VerificationError> {
  const name = task.entry.name;
  const what = `${name} did not verify (${mismatch}); nothing was written under its name`;
  const rules = loaded.pipeline.blame ?? [];
  const encMd5 = "encMd5" in task.entry ? (task.entry.encMd5 ?? null) : task.entry.md5;
  // A streamed payload passed the Hub's own check on the way (or its transfer failed instead): not re-fetched to blame it.
  if (task.remote) return remoteBlame(task, task.remote, what, encMd5, keys);
  if (rules.includes("enc-md5") && encMd5) {
    const { md5 } = await hashPayload(task, ["md5"]);
    if (md5 !== encMd5) return new VerificationError(name, `${what}. ${task.source} is corrupt: md5 ${md5}, the card says ${encMd5}; download it again`);
  }
  const baseFile = keys.baseFileFor(task);
  const baseMd5 = loaded.base.files?.find((f) => f.name === name)?.md5;
  if (rules.includes("base-md5") && baseFile && baseMd5) {
    const { md5 } = await hashFile(baseFile, ["md5"]);
    if (md5 !== baseMd5) return new VerificationError(name, `${what}. ${baseFile} is not the base file the release needs: md5 ${md5}, ${loaded.base.title} has ${baseMd5}; convert the base again`);
  }
  if (task.kind === "copy") return new VerificationError(name, `${what}. ${task.source} is not the published file; download it again`);
  const intact = encMd5 ? `${task.sourceName} matches the card, so the base is wrong` : `the card publishes no md5 for ${task.sourceName}: either it is corrupt (download it again) or the base is wrong`;
  return new VerificationError(name, `${what}. ${intact}: check ${keys.basePath} with md5sum against ${loaded.base.md5 ?? "the base's published md5"}`);
}

/** A payload from the Hub matched what the Hub lists for it, so the release on the Hub or the base is at fault. */
function remoteBlame(task: FileTask, remote: NonNullable<FileTask["remote"]>, what: string, encMd5: string | null, keys: KeyProvider): VerificationError {
  const card = encMd5 ? ` (the card's md5 of it is ${encMd5}: compare it with md5sum after model-recover download)` : "";
  return new VerificationError(task.entry.name, `${what}. ${remote.where} matched ${remote.checkedBy} as it streamed, so either the release on the Hub is not the one the recipe describes${card} or the base is wrong: check ${keys.basePath} with md5sum`);
}
