import type { KnownLlamaSize } from "@model-recover/llama-convert";
import { InputError } from "../errors.js";
import { loadRecipe, recipeNames } from "../recipe/load-recipe.js";
import { isTensorRecipe, type LoadedTensorRecipe } from "../recipe/types.js";

/** The md5s published for a conversion's inputs and outputs; null where none is. */
export interface PublishedHashes {
  /** The recipe they come from, if any. */
  recipe: LoadedTensorRecipe | undefined;
  /** By file name: consolidated.NN.pth, params.json, tokenizer.model; the size where it is published. */
  inputs: ReadonlyMap<string, { md5: string | null; size?: number }>;
  /** By output file name. */
  outputs: ReadonlyMap<string, string | null>;
}

/**
 * The hashes a conversion is checked against: those of `recipe`, which must be for the size
 * params.json describes when that is a published size, or else those of the bundled recipe for
 * that size. A size no recipe knows is converted all the same, with nothing to check but the shapes.
 */
export async function publishedHashes(size: KnownLlamaSize | undefined, paramsPath: string, recipe?: LoadedTensorRecipe): Promise<PublishedHashes> {
  const chosen = recipe ?? (size ? await bundledRecipeFor(size) : undefined);
  if (recipe && size && recipe.base.model !== size.name) {
    throw new InputError("ORIGINALS_WRONG", `${paramsPath}: describes LLaMA-${size.name}, but ${recipe.recipe.name} converts LLaMA-${recipe.base.model}; pass the ${recipe.base.model} folder of the original download`);
  }
  if (!chosen) return { recipe: undefined, inputs: new Map(), outputs: new Map() };
  return {
    recipe: chosen,
    inputs: new Map((chosen.base.files ?? []).map((f) => [f.name, { md5: f.md5, ...(f.size !== undefined ? { size: f.size } : {}) }])),
    outputs: new Map(chosen.recipe.files.map((f) => [f.name, f.md5])),
  };
}

async function bundledRecipeFor(size: KnownLlamaSize): Promise<LoadedTensorRecipe | undefined> {
  for (const name of await recipeNames()) {
    const loaded = await loadRecipe(name);
    if (isTensorRecipe(loaded) && loaded.pipeline.transform === "llama-original-to-hf" && loaded.base.model === size.name) return loaded;
  }
  return undefined;
}
