import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseEncFileName } from "@model-recover/hf-layout";
import { hashFile, type ChecksumEntry } from "@model-recover/md5-manifest";
import { ENC_HEADER_BYTES } from "@model-recover/xor-core";
import { InputError } from "../errors.js";
import { validateRecipe } from "./load-recipe.js";
import type { BaseCheckpoint, Recipe, RecipeFile } from "./types.js";

export interface FromFolderOptions {
  folder: string;
  name: string;
  /** md5 lists as a card shows them, `.enc` and recovered names in any mix. */
  md5Lists: ChecksumEntry[];
  title?: string;
  card?: string;
  prompt?: string;
  base?: Partial<BaseCheckpoint>;
}

export interface FromFolderResult {
  recipe: Recipe;
  /** Things a reviewer should know: hashes the card does not publish, files left out. */
  notes: string[];
}

/**
 * Build a recipe from a downloaded release and its card's md5 lists. Every `.enc` file is hashed and
 * must match the card, so a corrupt download never becomes a recipe (its sizes would be wrong too).
 */
export async function recipeFromFolder(options: FromFolderOptions): Promise<FromFolderResult> {
  const published = new Map(options.md5Lists.map((e) => [e.name, e.digest]));
  const used = new Set<string>();
  const take = (name: string) => {
    const digest = published.get(name);
    if (digest !== undefined) used.add(name);
    return digest ?? null;
  };
  const files: RecipeFile[] = [];
  const notes: string[] = [];
  for (const fileName of await listFiles(options.folder)) {
    const path = join(options.folder, fileName);
    const parsed = parseEncFileName(fileName);
    if (parsed.ok) {
      const { plainName, sha256 } = parsed.value;
      const encMd5 = take(fileName);
      if (encMd5 !== null) await expectMd5(path, encMd5);
      const size = (await stat(path)).size - ENC_HEADER_BYTES;
      files.push({ name: plainName, sha256, encMd5, md5: take(plainName), size });
      continue;
    }
    const md5 = take(fileName);
    if (md5 === null) notes.push(`${fileName}: not encrypted and not in the recovered md5 list; left out of the recipe`);
    else files.push({ name: fileName, clear: true, md5 });
  }
  for (const file of files) {
    if (file.md5 === null) notes.push(`${file.name}: the card publishes no md5 of the recovered file; only its header sha256 will verify it`);
    if (file.clear !== true && file.encMd5 === null) notes.push(`${file.name}: the card publishes no md5 of the .enc file`);
  }
  for (const name of published.keys()) if (!used.has(name)) notes.push(`${name}: in the md5 lists but not in ${options.folder}`);
  const recipe: Recipe = {
    name: options.name,
    title: options.title ?? options.name,
    pipeline: "xor-enc",
    ...(options.card ? { card: options.card } : {}),
    base: { title: "LLaMA consolidated.00.pth", fileName: "consolidated.00.pth", md5: null, sha256: null, ...options.base },
    files: files.sort((a, b) => a.name.localeCompare(b.name)),
    ...(options.prompt ? { prompt: options.prompt } : {}),
  };
  return { recipe: validateRecipe(`${options.name} (generated)`, recipe), notes };
}

async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => {
    throw new InputError("ENC_FOLDER_MISSING", `${folder}: folder not found; pass the downloaded *-enc folder`);
  });
  // Hidden files (.gitattributes, .git) are never part of a release.
  return entries.filter((e) => e.isFile() && !e.name.startsWith(".")).map((e) => e.name).sort();
}

async function expectMd5(path: string, published: string): Promise<void> {
  const { md5 } = await hashFile(path, ["md5"]);
  if (md5 !== published) throw new InputError("ENC_CORRUPT", `${path}: md5 ${md5} but the card says ${published}; download it again before making a recipe from it`);
}
