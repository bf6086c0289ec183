import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadRecipe, RecipeError, recipeNames } from "@model-recover/pipeline";

/** One job of the recover workflow: a recipe by the name `model-recover recover <recipe>` takes. */
export interface MatrixEntry {
  recipe: string;
  title: string;
  /** A real release, recovered only where the base weights are (no `bundled` demo files). */
  real: boolean;
}

export interface RecipeMatrix {
  include: MatrixEntry[];
}

/**
 * Every recipe in `manifestsDir`, each validated by the pipeline's own loader, as a GitHub Actions
 * matrix. Of the JSON files `recipeNames` lists, a recipe is one with "name" and "files"; a file that
 * is not JSON at all is taken for a broken recipe, so a typo fails the matrix instead of dropping a
 * release from CI.
 */
export async function recipeMatrix(manifestsDir: string): Promise<RecipeMatrix> {
  const include: MatrixEntry[] = [];
  for (const byName of await recipeNames(manifestsDir)) {
    const path = join(manifestsDir, `${byName}.json`);
    if (!(await looksLikeRecipe(path))) continue;
    const { recipe, file } = await loadRecipe(path, { manifestsDir });
    // `model-recover recover <name>` finds a recipe by its file name, so the two must agree.
    if (recipe.name !== byName) throw new RecipeError(file, `${file}: /name: "${recipe.name}" must match the file name "${byName}"`);
    include.push({ recipe: recipe.name, title: recipe.title, real: recipe.bundled === undefined });
  }
  return { include };
}

/** The entries that need real base weights. */
export function realOnly(matrix: RecipeMatrix): RecipeMatrix {
  return { include: matrix.include.filter((entry) => entry.real) };
}

async function looksLikeRecipe(path: string): Promise<boolean> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch {
    return true;
  }
  return typeof value === "object" && value !== null && "name" in value && "files" in value;
}
