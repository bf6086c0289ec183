import { open } from "node:fs/promises";
import { hashFile, MultiHasher } from "@model-recover/md5-manifest";
import { ENC_HEADER_BYTES, KEY_CHUNK_BYTES, Keystream, type KeyFile } from "@model-recover/xor-core";
import { InputError, VerificationError } from "../errors.js";
import type { FileTask } from "./plan.js";
import { TempOutput } from "./temp-output.js";

export type Check = "header-sha256" | "card-md5";

export interface VerifiedFile {
  name: string;
  bytes: number;
  md5: string;
  sha256: string;
  /** The checks that passed; a check the recipe cannot make (hash unknown) is absent. */
  checks: Check[];
}

/**
 * Decrypt (or copy) one file into `outDir` under a temporary name, hash it in the same pass, and
 * publish it under its final name only if it verifies. On any failure nothing is left behind.
 */
export async function recoverFile(task: FileTask, key: KeyFile, outDir: string, onBytes: (done: number) => void): Promise<VerifiedFile> {
  const output = await TempOutput.create(outDir, task.entry.name);
  try {
    const digests = await transform(task, key, output, onBytes);
    const checks = await verify(task, digests, key);
    await output.publish();
    return { name: task.entry.name, bytes: task.outputBytes, ...digests, checks };
  } catch (error) {
    await output.discard();
    throw error;
  }
}

async function transform(task: FileTask, key: KeyFile, output: TempOutput, onBytes: (done: number) => void) {
  const offset = task.kind === "decrypt" ? ENC_HEADER_BYTES : 0;
  const keystream = task.kind === "decrypt" ? new Keystream(key) : undefined;
  const hasher = new MultiHasher(["md5", "sha256"]);
  // One key chunk per read keeps every read on a keystream boundary (spec §1) and memory flat.
  const buffer = new Uint8Array(KEY_CHUNK_BYTES);
  const input = await open(task.source, "r");
  try {
    for (let done = 0; done < task.outputBytes; ) {
      const want = Math.min(buffer.length, task.outputBytes - done);
      const { bytesRead } = await input.read(buffer, 0, want, offset + done);
      if (bytesRead === 0) {
        throw new InputError("ENC_SIZE", `${task.source}: shrank while being read (at ${done + offset} of ${task.outputBytes + offset} bytes); is a download still running?`);
      }
      const piece = buffer.subarray(0, bytesRead);
      await keystream?.apply(piece, done);
      hasher.update(piece);
      await output.write(piece, done);
      done += bytesRead;
      onBytes(done);
    }
  } finally {
    await input.close();
  }
  const { md5, sha256 } = hasher.digest();
  return { md5: md5!, sha256: sha256! };
}

async function verify(task: FileTask, digests: { md5: string; sha256: string }, key: KeyFile): Promise<Check[]> {
  const checks: Check[] = [];
  const name = task.entry.name;
  if (task.kind === "decrypt") {
    if (digests.sha256 !== task.entry.sha256) throw await blame(task, key, `sha256 ${digests.sha256}, header says ${task.entry.sha256}`);
    checks.push("header-sha256");
  }
  const md5 = task.entry.md5;
  if (md5 !== null) {
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
