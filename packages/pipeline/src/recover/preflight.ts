import { stat, statfs } from "node:fs/promises";
import { openRegularFile } from "@model-recover/safe-fs";
import { MultiHasher } from "@model-recover/md5-manifest";
import { KEY_CHUNK_BYTES, Keystream, type KeySource } from "@model-recover/xor-core";
import { InputError } from "../errors.js";
import type { LoadedRecipe } from "../recipe/types.js";
import { formatBytes } from "../units.js";
import { describeBase, type KeyProvider } from "./keys.js";
import type { FileTask } from "./plan.js";
import { hashPayload, openPayload } from "./payload-source.js";

export interface PreflightReport {
  tasks: FileTask[];
  /** The file whose decryption proved the key, where the pipeline has a header to prove it with. */
  probe?: string;
}

/**
 * The checks a pipeline lists, in its order, before any long work ("release-files" is the plan
 * itself and "room" needs the output folder, so both run elsewhere).
 */
export async function runPreflight(loaded: LoadedRecipe, tasks: FileTask[], keys: KeyProvider): Promise<PreflightReport> {
  const report: PreflightReport = { tasks };
  for (const step of loaded.pipeline.steps) {
    if (step === "key-on-smallest-file") report.probe = await checkKeyOnSmallestFile(loaded, report.tasks, keys);
    if (step === "key-prefix-md5") await checkKeyPrefix(loaded, keys.basePath);
    if (step === "base-files") report.tasks = await checkBaseFiles(loaded, report.tasks, keys);
  }
  return report;
}

/**
 * Every file of a release uses the same key prefix (spec §1), so decrypting the smallest file tells
 * in milliseconds whether the base is the right key, instead of after half an hour. An empty file
 * proves nothing (its sha256 is the same under any key), so the smallest non-empty one is used.
 */
async function checkKeyOnSmallestFile(loaded: LoadedRecipe, tasks: FileTask[], keys: KeyProvider): Promise<string | undefined> {
  const smallest = tasks.filter((t) => t.kind === "decrypt" && t.sha256 && t.outputBytes > 0).sort((a, b) => a.outputBytes - b.outputBytes)[0];
  if (!smallest) return undefined;
  const sha256 = await decryptedSha256(smallest, await keys.sourceFor(smallest));
  if (sha256 === smallest.sha256) return smallest.entry.name;
  const published = "encMd5" in smallest.entry ? smallest.entry.encMd5 : null;
  if (published) {
    const { md5 } = await hashPayload(smallest, ["md5"]);
    if (md5 !== published) throw new InputError("ENC_CORRUPT", `${smallest.source}: md5 ${md5} but the card says ${published}; the download is corrupt, download it again`);
  }
  throw new InputError(
    "BASE_WRONG",
    `${keys.basePath}: not the key for ${loaded.recipe.title} (decrypting ${smallest.entry.name} gave sha256 ${sha256.slice(0, 12)}…, its header says ${smallest.sha256!.slice(0, 12)}…); use ${describeBase(loaded)}`,
  );
}

async function decryptedSha256(task: FileTask, key: KeySource): Promise<string> {
  const hasher = new MultiHasher(["sha256"]);
  const keystream = new Keystream(key);
  const buffer = new Uint8Array(Math.min(KEY_CHUNK_BYTES, Math.max(task.outputBytes, 1)));
  // A remote payload is fetched here (the smallest file: a few KB on the Hub), checked on the way.
  const input = await openPayload(task);
  try {
    for (let done = 0; done < task.outputBytes; ) {
      const piece = buffer.subarray(0, Math.min(buffer.length, task.outputBytes - done));
      await input.read(piece, task.headerBytes + done);
      await keystream.apply(piece, done);
      hasher.update(piece);
      done += piece.length;
    }
  } finally {
    await input.close();
  }
  return hasher.digest().sha256!;
}

/** Spec §3: the key is a prefix of a known file, and its md5 is published: check it before anything else. */
async function checkKeyPrefix(loaded: LoadedRecipe, basePath: string): Promise<void> {
  const prefixBytes = loaded.pipeline.key.prefixBytes;
  const keyPrefix = loaded.base.keyPrefix;
  const prefixMd5 = keyPrefix?.bytes === prefixBytes ? keyPrefix?.md5 : undefined;
  if (!prefixBytes || !prefixMd5) return;
  const hasher = new MultiHasher(["md5"]);
  const { handle } = await openRegularFile(basePath, "base checkpoint");
  try {
    const prefix = new Uint8Array(prefixBytes);
    const { bytesRead } = await handle.read(prefix, 0, prefixBytes, 0);
    hasher.update(prefix.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
  const md5 = hasher.digest().md5!;
  if (md5 !== prefixMd5) {
    throw new InputError("BASE_WRONG", `${basePath}: its first ${prefixBytes} bytes have md5 ${md5}, not ${prefixMd5}; ${loaded.recipe.title} needs ${describeBase(loaded)}`);
  }
}

/**
 * Spec §2: each payload is keyed by the same-named base file, which must be there; only the files the
 * format names (added_tokens.json) have no counterpart and are copied as they are. The published
 * script prints an exception for any other and exits 0; here it stops the run.
 */
async function checkBaseFiles(loaded: LoadedRecipe, tasks: FileTask[], keys: KeyProvider): Promise<FileTask[]> {
  const copied = new Set(loaded.pipeline.key.copyWithoutBase);
  const missing: string[] = [];
  const result = await Promise.all(
    tasks.map(async (task) => {
      const baseFile = task.kind === "decrypt" ? keys.baseFileFor(task) : undefined;
      if (!baseFile || (await stat(baseFile).catch(() => undefined))?.isFile()) return task;
      if (!copied.has(task.entry.name)) missing.push(baseFile);
      return { ...task, kind: "copy" as const };
    }),
  );
  if (missing.length > 0) {
    throw new InputError("BASE_MISSING", `${keys.basePath}: ${missing.length} base files missing: ${missing.join(", ")}; ${loaded.recipe.title} needs ${describeBase(loaded)}, complete`);
  }
  return result;
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
