import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../errors.js";
import type { KnownOutput } from "../recover/existing-outputs.js";
import { OutputFolder } from "../recover/output-folder.js";
import { OutputStore } from "./output-store.js";

export interface PutBack {
  /** Already in the output folder as the store's verified copy (the same inode as a trusted entry). */
  kept: string[];
  /** Put back from the store. */
  restored: string[];
  /** Not in the store, or no longer what was verified there: the recipe must run again. */
  missing: string[];
}

/**
 * A cached run's outputs, as its receipt names them, back in the output folder without any tensor
 * work: each file is left in place only when it is provably the store's copy, else put back from
 * the store through a temporary name; a file the store cannot vouch for is reported missing, and
 * nothing under its name is touched.
 */
export async function putBackOutputs(options: { outDir: string; files: ReadonlyMap<string, KnownOutput>; store: { dir: string } }): Promise<PutBack> {
  const result: PutBack = { kept: [], restored: [], missing: [] };
  const store = await OutputStore.open(options.store.dir);
  const folder = await OutputFolder.claim(options.outDir);
  try {
    for (const [name, { size, sha256 }] of options.files) {
      const entry = await store.trusted(sha256, size);
      if (!entry) {
        result.missing.push(name);
        continue;
      }
      const target = join(options.outDir, name);
      const [here, stored] = await Promise.all([lstat(target).catch(() => undefined), lstat(entry)]);
      if (here?.isDirectory()) throw new InputError("OUT_NOT_WRITABLE", `${target}: is a folder where ${name} goes; move it away or pass another --out`);
      if (here?.isFile() && here.dev === stored.dev && here.ino === stored.ino) result.kept.push(name);
      else if (await store.restore(sha256, size, folder.scratchPath(name, "restore"), target)) result.restored.push(name);
      else result.missing.push(name);
    }
    return result;
  } finally {
    await folder.release();
  }
}
