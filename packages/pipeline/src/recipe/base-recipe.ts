import { join } from "node:path";
import { statRegularFile } from "@model-recover/safe-fs";
import { RecipeError } from "../errors.js";
import type { AnyLoadedRecipe, BaseCheckpoint, Recipe, RecipeBase } from "./types.js";

/** Where a recipe was found, and the recipes whose base it is (outermost first). */
export interface RecipePlace {
  file: string;
  root: string;
  manifestsDir: string;
  cwd?: string;
  /** The names of the recipes that led here through their bases, to refuse a cycle. */
  chain?: readonly string[];
}

/** How a recipe file is loaded (load-recipe.ts passes its own loader: this file does not import it). */
export type LoadRecipeFile = (path: string, options: { manifestsDir: string; cwd?: string; chain: readonly string[] }) => Promise<AnyLoadedRecipe>;

/**
 * `"base": {"recipe": "llama-30b-hf"}`: the base is what that recipe makes. The named recipe is
 * looked for next to the recipe naming it, then among the bundled ones, and loaded (its own base
 * resolved the same way); an unknown name or a chain that comes back to a recipe already in it is
 * a recipe problem. The base it describes is that recipe's output folder: its files and md5s.
 */
export async function resolveBaseRecipe(recipe: Recipe, base: RecipeBase, where: RecipePlace, load: LoadRecipeFile): Promise<{ base: BaseCheckpoint; baseRecipe: AnyLoadedRecipe }> {
  const chain = [...(where.chain ?? []), recipe.name];
  if (chain.includes(base.recipe)) {
    throw new RecipeError(where.file, `${where.file}: /base: {"recipe": "${base.recipe}"} makes a cycle (${[...chain, base.recipe].join(" -> ")}); a chain of recipes must end in a base checkpoint`);
  }
  const path = await findRecipeFile(base.recipe, [where.root, where.manifestsDir]);
  if (!path) {
    throw new RecipeError(where.file, `${where.file}: /base: {"recipe": "${base.recipe}"} names no recipe (no ${base.recipe}.json next to it or among the bundled recipes); run \`model-recover list\` for the names`);
  }
  const baseRecipe = await load(path, { manifestsDir: where.manifestsDir, chain, ...(where.cwd ? { cwd: where.cwd } : {}) });
  if (baseRecipe.recipe.name !== base.recipe) {
    throw new RecipeError(baseRecipe.file, `${baseRecipe.file}: /name: "${baseRecipe.recipe.name}" must match the file name "${base.recipe}", which ${where.file} names as its base`);
  }
  return { base: outputAsBase(baseRecipe), baseRecipe };
}

/** A recipe's output as a folder base: the files it makes, with the md5s it publishes for them. */
export function outputAsBase({ recipe, base, pipeline }: AnyLoadedRecipe): BaseCheckpoint {
  // A conversion's output is its model in Hugging Face format (7B -> 7B-hf), the size a delta checks its base against.
  const model = pipeline.name === "convert-llama" && base.model ? `${base.model}-hf` : undefined;
  return {
    id: recipe.name,
    title: `${recipe.title}, as recipe ${recipe.name} makes it`,
    ...(model ? { model } : {}),
    files: recipe.files.map(({ name, md5, size }) => ({ name, md5, ...(size !== undefined ? { size } : {}) })),
  };
}

async function findRecipeFile(name: string, dirs: readonly string[]): Promise<string | undefined> {
  for (const dir of new Set(dirs)) {
    const path = join(dir, `${name}.json`);
    if (await statRegularFile(path, "recipe").then(() => true, () => false)) return path;
  }
  return undefined;
}
