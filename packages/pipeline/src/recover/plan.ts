import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { encFileName, parseEncFileName } from "@model-recover/hf-layout";
import { ENC_HEADER_BYTES } from "@model-recover/xor-core";
import { InputError } from "../errors.js";
import { isEncrypted, type ClearRecipeFile, type EncryptedRecipeFile, type Recipe } from "../recipe/types.js";

export type FileTask =
  | { kind: "decrypt"; entry: EncryptedRecipeFile; source: string; sourceName: string; outputBytes: number }
  | { kind: "copy"; entry: ClearRecipeFile; source: string; sourceName: string; outputBytes: number };

/** What a recovery will do, worked out from the recipe and a listing of the release folder. */
export interface Plan {
  tasks: FileTask[];
  /** Clear files the recipe lists that the release folder lacks (a README is not needed to run the model). */
  absentClearFiles: string[];
  /** Files in the release folder that are not part of the release: named, never decrypted. */
  extras: string[];
  totalOutputBytes: number;
}

export async function planRecovery(recipe: Recipe, encDir: string): Promise<Plan> {
  const present = await listReleaseFolder(encDir);
  const tasks: FileTask[] = [];
  const absentClearFiles: string[] = [];
  const missing: string[] = [];
  const claimed = new Set<string>();
  for (const entry of recipe.files) {
    if (isEncrypted(entry)) {
      const sourceName = encFileName(entry.name, entry.sha256);
      claimed.add(sourceName);
      const size = present.get(sourceName);
      if (size === undefined) missing.push(describeMissing(entry, [...present.keys()]));
      else tasks.push({ kind: "decrypt", entry, source: join(encDir, sourceName), sourceName, outputBytes: size - ENC_HEADER_BYTES });
    } else {
      claimed.add(entry.name);
      const size = present.get(entry.name);
      if (size === undefined) absentClearFiles.push(entry.name);
      else tasks.push({ kind: "copy", entry, source: join(encDir, entry.name), sourceName: entry.name, outputBytes: size });
    }
  }
  if (missing.length > 0) {
    throw new InputError("ENC_MISSING", `${encDir}: ${missing.length} of ${recipe.files.filter(isEncrypted).length} encrypted files missing: ${missing.join("; ")}; download them again (git lfs pull) or pass the right --enc folder`);
  }
  for (const task of tasks) await checkSize(task);
  const extras = [...present.keys()].filter((name) => !claimed.has(name)).sort();
  return { tasks, absentClearFiles, extras, totalOutputBytes: tasks.reduce((sum, t) => sum + t.outputBytes, 0) };
}

async function listReleaseFolder(encDir: string): Promise<Map<string, number>> {
  const entries = await readdir(encDir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    const what = error.code === "ENOTDIR" ? "is a file, expected the downloaded *-enc folder" : "folder not found";
    throw new InputError("ENC_FOLDER_MISSING", `${encDir}: ${what}; pass --enc <folder with the .enc files>`);
  });
  const sizes = new Map<string, number>();
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    sizes.set(entry.name, (await stat(join(encDir, entry.name))).size);
  }
  return sizes;
}

/** A missing file is often there under another digest: a newer upload of the release (spec §1 names). */
function describeMissing(entry: EncryptedRecipeFile, present: string[]): string {
  const expected = encFileName(entry.name, entry.sha256);
  const other = present.find((name) => {
    const parsed = parseEncFileName(name);
    return parsed.ok && parsed.value.plainName === entry.name;
  });
  return other ? `${expected} (found ${other}, a different version of ${entry.name})` : expected;
}

async function checkSize(task: FileTask): Promise<void> {
  const expected = task.entry.size;
  if (task.kind === "decrypt") {
    if (task.outputBytes < 0) {
      throw new InputError("ENC_SIZE", `${task.source}: ${task.outputBytes + ENC_HEADER_BYTES} bytes is shorter than the 32-byte header; the download is truncated, download it again`);
    }
    if (expected !== undefined && task.outputBytes !== expected) {
      throw new InputError("ENC_SIZE", `${task.source}: file should be of size ${expected + ENC_HEADER_BYTES} but has size ${task.outputBytes + ENC_HEADER_BYTES}; download it again`);
    }
    await checkHeaderMatchesName(task.source, task.entry.sha256);
  }
}

/** The header holds the plaintext sha256, and so does the name: a file whose two disagree is not the file named. */
async function checkHeaderMatchesName(path: string, sha256: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    const header = Buffer.alloc(ENC_HEADER_BYTES);
    await handle.read(header, 0, ENC_HEADER_BYTES, 0);
    const found = header.toString("hex");
    if (found !== sha256) {
      throw new InputError("ENC_CORRUPT", `${path}: header holds sha256 ${found} but the name says ${sha256}; the download is corrupt, download it again`);
    }
  } finally {
    await handle.close();
  }
}
