import { open, statfs } from "node:fs/promises";
import { hashFile, MultiHasher } from "@model-recover/md5-manifest";
import { ENC_HEADER_BYTES, KEY_CHUNK_BYTES, KeyError, KeyFile, Keystream } from "@model-recover/xor-core";
import { InputError } from "../errors.js";
import type { Recipe } from "../recipe/types.js";
import { formatBytes } from "../units.js";
import type { FileTask } from "./plan.js";

/** Open the base checkpoint as the key, turning key problems into errors that say which base to use. */
export async function openBase(recipe: Recipe, basePath: string): Promise<KeyFile> {
  const needed = describeBase(recipe);
  let key: KeyFile;
  try {
    key = await KeyFile.open(basePath);
  } catch (error) {
    if (!(error instanceof KeyError)) throw error;
    const code = error.code === "KEY_EMPTY" ? "BASE_EMPTY" : "BASE_MISSING";
    throw new InputError(code, `${error.message}; ${recipe.title} needs ${needed}`);
  }
  if (recipe.base.size !== undefined && key.size !== recipe.base.size) {
    await key.close();
    throw new InputError("BASE_WRONG", `${basePath}: base should be of size ${recipe.base.size} but has size ${key.size}; ${recipe.title} needs ${needed}`);
  }
  return key;
}

export function describeBase(recipe: Recipe): string {
  const { title, md5 } = recipe.base;
  return md5 ? `${title} (md5 ${md5})` : title;
}

/**
 * Every file of a release uses the same key prefix (spec §1), so decrypting the smallest file tells
 * in milliseconds whether the base is the right key, instead of after half an hour.
 */
export async function checkKeyOnSmallestFile(recipe: Recipe, tasks: FileTask[], key: KeyFile): Promise<{ probe?: string }> {
  const decryptable = tasks.filter((t): t is FileTask & { kind: "decrypt" } => t.kind === "decrypt");
  const smallest = decryptable.sort((a, b) => a.outputBytes - b.outputBytes)[0];
  if (!smallest) return {};
  const sha256 = await decryptedSha256(smallest, key);
  if (sha256 === smallest.entry.sha256) return { probe: smallest.entry.name };
  const published = smallest.entry.encMd5;
  if (published !== null) {
    const { md5 } = await hashFile(smallest.source, ["md5"]);
    if (md5 !== published) {
      throw new InputError("ENC_CORRUPT", `${smallest.source}: md5 ${md5} but the card says ${published}; the download is corrupt, download it again`);
    }
  }
  throw new InputError(
    "BASE_WRONG",
    `${key.path}: not the key for ${recipe.title} (decrypting ${smallest.entry.name} gave sha256 ${sha256.slice(0, 12)}…, its header says ${smallest.entry.sha256.slice(0, 12)}…); use ${describeBase(recipe)}`,
  );
}

async function decryptedSha256(task: FileTask & { kind: "decrypt" }, key: KeyFile): Promise<string> {
  const hasher = new MultiHasher(["sha256"]);
  const keystream = new Keystream(key);
  const buffer = new Uint8Array(Math.min(KEY_CHUNK_BYTES, Math.max(task.outputBytes, 1)));
  const input = await open(task.source, "r");
  try {
    for (let done = 0; done < task.outputBytes; ) {
      const { bytesRead } = await input.read(buffer, 0, Math.min(buffer.length, task.outputBytes - done), ENC_HEADER_BYTES + done);
      if (bytesRead === 0) break;
      const piece = buffer.subarray(0, bytesRead);
      await keystream.apply(piece, done);
      hasher.update(piece);
      done += bytesRead;
    }
  } finally {
    await input.close();
  }
  return hasher.digest().sha256!;
}

/** Say how much is needed and how much is free before writing anything. */
export async function checkRoom(outDir: string, neededBytes: number): Promise<{ freeBytes: number }> {
  const info = await statfs(outDir);
  const freeBytes = Number(info.bavail) * Number(info.bsize);
  if (neededBytes > freeBytes) {
    throw new InputError("NO_ROOM", `${outDir}: not enough room: the outputs need ${formatBytes(neededBytes)} (${neededBytes} bytes) but only ${formatBytes(freeBytes)} (${freeBytes} bytes) is free; free some space or pass another --out`);
  }
  return { freeBytes };
}
