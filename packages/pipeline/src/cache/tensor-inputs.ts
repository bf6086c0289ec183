import { readdir, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { baseRecipeInputs } from "../chain/base-from-recipe.js";
import { findOriginals } from "../convert/originals.js";
import { isDeltaPipeline } from "../recipe/pipelines.js";
import type { LoadedTensorRecipe } from "../recipe/types.js";

export interface LabelledInput {
  /** Where the file sits among the inputs, independent of where the folders are: "(delta)/config.json". */
  label: string;
  path: string;
}

/**
 * The files a tensor recipe reads, for the identity a cached run is kept by: a conversion's
 * originals; a delta's downloaded folder and its base, which is the original download when the base
 * is a conversion recipe's output made on the way, else the converted folder given.
 */
export async function tensorRecipeInputs(loaded: LoadedTensorRecipe, paths: { base: string; enc: string }): Promise<LabelledInput[]> {
  const under = (kind: string, root: string) => (path: string) => ({ label: `(${kind})/${relative(root, path)}`, path });
  if (!isDeltaPipeline(loaded.pipeline)) {
    const originals = await findOriginals(paths.base, loaded.base.model);
    return [originals.paramsPath, originals.tokenizer, ...originals.shards].filter((path): path is string => path !== undefined).map(under("originals", paths.base));
  }
  const originals = await baseRecipeInputs(loaded, paths.base);
  const base = originals ? originals.map(under("originals", paths.base)) : (await folderFiles(paths.base)).map(under("base", paths.base));
  return [...base, ...(await folderFiles(paths.enc)).map(under("delta", paths.enc))];
}

/** The files of a model folder (links followed; hidden names, a tool's state, left out). */
async function folderFiles(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((name) => !name.startsWith(".")).sort();
  const files: string[] = [];
  for (const name of names) if ((await stat(join(dir, name)).catch(() => undefined))?.isFile()) files.push(join(dir, name));
  return files;
}
