import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { InputError } from "../errors.js";
import type { LoadedRecipe } from "../recipe/types.js";

const SEARCH_DEPTH = 3;

/**
 * `--base` may name the base file itself or the folder the LLaMA download went to. In a folder, the
 * base's file name is looked for under the model's own folder (`13B/consolidated.00.pth`): 7B and
 * 13B files share their name, and 13B's two files differ only in it, so neither is ever guessed.
 */
export async function resolveBasePath(loaded: LoadedRecipe, path: string): Promise<string> {
  const { base, pipeline } = loaded;
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory() || pipeline.key.material === "base-folder" || !base.fileName) return path;
  const found = await findFiles(path, base.fileName, SEARCH_DEPTH);
  const inModelFolder = base.model ? found.filter((file) => basename(dirname(file)) === base.model) : found;
  const bySize = [];
  for (const file of inModelFolder) if (base.size === undefined || (await stat(file)).size === base.size) bySize.push(file);
  if (bySize.length === 1) return bySize[0]!;
  const where = base.model ? `${base.model}/${base.fileName}` : base.fileName;
  if (bySize.length === 0) {
    const others = found.length > 0 ? ` (found ${found.join(", ")}, not ${base.title})` : "";
    throw new InputError("BASE_MISSING", `${path}: no ${where} in this folder${others}; ${loaded.recipe.title} needs ${base.title}, pass it with --base <file>`);
  }
  throw new InputError("BASE_MISSING", `${path}: several candidates for ${base.title}: ${bySize.join(", ")}; pass the one you mean with --base <file>`);
}

/** Files named `name` up to `depth` folders down; links to files count (a base kept elsewhere and linked in). */
async function findFiles(dir: string, name: string, depth: number): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const entry of entries) {
    if (entry.name !== name) continue;
    if (entry.isFile() || (entry.isSymbolicLink() && (await stat(join(dir, name)).catch(() => undefined))?.isFile())) found.push(join(dir, name));
  }
  if (depth === 0) return found;
  for (const entry of entries) {
    if (entry.isDirectory() && !entry.name.startsWith(".")) found.push(...(await findFiles(join(dir, entry.name), name, depth - 1)));
  }
  return found.sort();
}
