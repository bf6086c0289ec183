import { join } from "node:path";
import { type AnyLoadedRecipe, isDeltaPipeline, isTensorRecipe } from "@model-recover/pipeline";

/** Where the weights runner keeps things (repository variables, see .github/workflows/recover.yml). */
export interface RealRoots {
  /** The original LLaMA download: `<llama>/13B/consolidated.00.pth`, `<llama>/30B/params.json`, … */
  llama: string;
  /** The downloaded releases, one folder per recipe. */
  releases: string;
  /** Where recovered folders are kept from job to job; without it, each job's temporary folder. */
  recovered?: string;
  temp: string;
}

/**
 * The `pnpm recover` arguments of a real recovery. A release reads its base checkpoint and its
 * downloaded folder; a conversion reads the original download alone; a delta reads its base and its downloaded delta folder; a recipe built on another
 * recipe reads that recipe's output where an earlier job kept it (`recovered`), or else the
 * original download its chain starts from, which it converts into the content store itself.
 */
export function realRecoverArgs(loaded: AnyLoadedRecipe, roots: RealRoots): string[] {
  const name = loaded.recipe.name;
  const args = ["recover", name, "--base", baseOf(loaded, roots)];
  // A release and a delta have a downloaded folder; a conversion has none.
  if (!isTensorRecipe(loaded) || isDeltaPipeline(loaded.pipeline)) args.push("--enc", join(roots.releases, name));
  return [...args, "--out", join(roots.recovered ?? roots.temp, name)];
}

function baseOf(loaded: AnyLoadedRecipe, roots: RealRoots): string {
  const after = loaded.baseRecipe;
  if (after && roots.recovered) return join(roots.recovered, after.recipe.name);
  if (after && !isTensorRecipe(after)) throw new Error(`${loaded.recipe.name}: built on ${after.recipe.name}, a release, which only its own job recovers: set RECOVERED_ROOT so that its output is kept for this job`);
  const start = after ?? loaded;
  // A base described inline, without a model folder, is looked for in a folder named after its recipe.
  return join(roots.llama, ...[start.base.model ?? start.recipe.name, start.base.fileName].filter((part): part is string => part !== undefined));
}
