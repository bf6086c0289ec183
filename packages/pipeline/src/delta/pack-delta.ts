import { join, resolve } from "node:path";
import { checkOutputFile, type OutputFileName, writeOutputFile } from "@model-recover/safe-fs";
import { refuseBadPackName } from "../pack/pack.js";
import { validateRecipe } from "../recipe/load-recipe.js";
import { refuseOverlaps } from "../recover/overlaps.js";
import type { Recipe } from "../recipe/types.js";
import type { ApplyDeltaEvent } from "./delta-events.js";
import { makeDelta, type MakeDeltaSummary } from "./make-delta.js";

export interface PackDeltaOptions {
  modelDir: string;
  /** LLaMA converted to Hugging Face format. */
  basePath: string;
  outDir: string;
  name: string;
  title?: string;
  card?: string;
  baseTitle?: string;
  prompt?: string;
  recipePath?: string;
  onEvent?: (event: ApplyDeltaEvent) => void;
  signal?: AbortSignal;
}

/**
 * `pack --format add-delta`: the delta (makeDelta, round trip checked block by block) and the recipe
 * that recovers it with `recover --base <the base> --enc <out>`. The recipe is validated before the
 * delta is made; it names each file the recovery makes, with no md5 (the recovered bytes depend on
 * how the tuned folder was saved, which the delta does not carry).
 */
export async function packDelta(options: PackDeltaOptions): Promise<{ recipe: Recipe; recipePath: string; summary: MakeDeltaSummary }> {
  // Before the recipe's path is made of it, and as the XOR formats refuse it.
  refuseBadPackName(options.name);
  const recipePath = resolve(options.recipePath ?? join(options.outDir, `${options.name}.recipe.json`));
  const draft = recipeOf(options, [{ name: "config.json", md5: null }]);
  validateRecipe(recipePath, draft);
  // The recipe is written last, over whatever has its name: never over an input.
  await refuseOverlaps(recipePath, [
    { path: resolve(options.modelDir), what: "fine-tuned model folder (--model)" },
    { path: resolve(options.basePath), what: "base (--base)" },
  ], "recipe file (--recipe)");
  const recipeFile: OutputFileName = { path: recipePath, what: "recipe", flag: options.recipePath ? "--recipe" : "--out" };
  if (options.recipePath) await checkOutputFile(recipeFile);
  const summary = await makeDelta({ tuned: options.modelDir, base: options.basePath, outDir: options.outDir, ...(options.onEvent ? { onEvent: options.onEvent } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  const made = summary.files.flatMap((f) => (f.status === "verified" ? [{ name: f.file.name, md5: null }] : []));
  const recipe = validateRecipe(recipePath, recipeOf(options, made));
  if (summary.ok) await writeOutputFile(recipeFile, `${JSON.stringify(recipe, null, 2)}\n`);
  return { recipe, recipePath, summary };
}

function recipeOf(options: PackDeltaOptions, files: { name: string; md5: null }[]): Recipe {
  return {
    name: options.name,
    title: options.title ?? options.name,
    pipeline: "add-delta",
    ...(options.card ? { card: options.card } : {}),
    base: { title: options.baseTitle ?? "LLaMA converted to Hugging Face format" },
    files,
    ...(options.prompt ? { prompt: options.prompt } : {}),
  };
}
