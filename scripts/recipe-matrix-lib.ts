import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type AnyLoadedRecipe, isDeltaPipeline, isTensorRecipe, loadRecipe, RecipeError, recipeNames } from "@model-recover/pipeline";

/** One job of the recover workflow: a recipe by the name `model-recover recover <recipe>` takes. */
export interface MatrixEntry {
  recipe: string;
  title: string;
  /** A real release, recovered only where the base weights are (no `bundled` demo files). */
  real: boolean;
  /** Set for a recipe whose base is another recipe's output (`"base": {"recipe": …}`): that recipe's job runs first. */
  after?: string;
  /** Set for a conversion (the tensor engine): it reads an original download, not a release. */
  conversion?: true;
  /** Set for an additive delta (the tensor engine too): it reads a base and a delta folder, not a release. */
  delta?: true;
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
    const loaded = await loadRecipe(path, { manifestsDir });
    const { recipe, file } = loaded;
    // `model-recover recover <name>` finds a recipe by its file name, so the two must agree.
    if (recipe.name !== byName) throw new RecipeError(file, `${file}: /name: "${recipe.name}" must match the file name "${byName}"`);
    include.push({ recipe: recipe.name, title: recipe.title, real: recipe.bundled === undefined, ...graphFields(loaded) });
  }
  return { include };
}

function graphFields(loaded: AnyLoadedRecipe): Pick<MatrixEntry, "after" | "conversion" | "delta"> {
  return { ...(loaded.baseRecipe ? { after: loaded.baseRecipe.recipe.name } : {}), ...tensorKind(loaded) };
}

/** Both run on the tensor engine, but a delta is no conversion: it is published, and its job needs its folder. */
function tensorKind(loaded: AnyLoadedRecipe): Pick<MatrixEntry, "conversion" | "delta"> {
  if (!isTensorRecipe(loaded)) return {};
  return isDeltaPipeline(loaded.pipeline) ? { delta: true } : { conversion: true };
}

/**
 * The real recoveries in the order the graph of bases asks: `first`, the recipes on a base
 * checkpoint; `after`, those built on one of theirs, run once those are done. The workflow has these
 * two stages, so a recipe built on a recipe that is itself built on one is refused here.
 */
export function realStages(matrix: RecipeMatrix): { first: RecipeMatrix; after: RecipeMatrix } {
  const real = matrix.include.filter((entry) => entry.real);
  const byName = new Map(real.map((entry) => [entry.recipe, entry]));
  for (const entry of real) {
    const base = entry.after ? byName.get(entry.after) : undefined;
    if (base?.after) throw new Error(`${entry.recipe}: its base recipe ${base.recipe} is built on ${base.after} in turn; .github/workflows/recover.yml runs two stages (add a third job for a chain this deep)`);
  }
  return { first: { include: real.filter((e) => !e.after) }, after: { include: real.filter((e) => e.after) } };
}

/** Why the synthetic job cannot build a release of an entry's shape; undefined for an XOR release, which it can. */
export function syntheticGap(entry: MatrixEntry): string | undefined {
  if (entry.conversion) return "a conversion reads an original download, not a release (the convert-llama tests make one with torch)";
  if (entry.delta) return "an additive delta reads a base and a delta folder, and scripts/synthetic-release.ts builds XOR releases only (the apply-delta and chained-delta tests cover the delta math)";
  return undefined;
}

/** The recipes a synthetic release can stand in for: the XOR releases. */
export function syntheticOnly(matrix: RecipeMatrix): RecipeMatrix {
  return { include: matrix.include.filter((entry) => syntheticGap(entry) === undefined) };
}

/** The recipes the synthetic job leaves out, each with why, so that the run says so rather than dropping them unseen. */
export function syntheticLeftOut(matrix: RecipeMatrix): string[] {
  return matrix.include.flatMap((entry) => {
    const gap = syntheticGap(entry);
    return gap === undefined ? [] : [`${entry.recipe}: ${gap}`];
  });
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
