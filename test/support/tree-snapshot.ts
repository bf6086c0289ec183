import { createHash } from "node:crypto";
import { readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";

/** Every file under `dir` with a digest of its content (symlinks by their target), to prove nothing changed. */
export async function treeSnapshot(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isSymbolicLink()) result[path] = `-> ${await readlink(path)}`;
    else if (entry.isFile()) result[path] = createHash("sha256").update(await readFile(path)).digest("hex");
  }
  return result;
}
