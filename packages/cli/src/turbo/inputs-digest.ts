import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { type AnyLoadedRecipe, baseRecipeInputs, type LoadedRecipe, type LoadedTensorRecipe, planRecovery, resolveBasePath, tensorRecipeInputs } from "@model-recover/pipeline";

/**
 * The identity of a recovery, without reading its inputs: the recipe as loaded (base and pipeline
 * included, so an edit that changes what it says changes the identity), the verify mode, and each
 * input file's device, inode, size, mtime and ctime. A changed .enc byte changes mtime and ctime
 * (ctime cannot be set back), another base is another inode; reading gigabytes to hash them, as a
 * content identity would, would cost more than the recovery itself. What the recovery then reads is
 * verified by the recovery, whatever the identity said. A chained recipe given the original download
 * is one task of both steps: its identity covers the base recipe and the originals too.
 */
export async function inputsDigest(loaded: LoadedRecipe, paths: { enc: string; base: string }, settings: object): Promise<string> {
  const { tasks } = await planRecovery(loaded, paths.enc);
  const inputs: Record<string, string> = {};
  for (const task of tasks) inputs[task.sourceName] = await statIdentity(task.source);
  // A chained recipe given the original download: its base is made from those files, by its base recipe.
  const originals = await baseRecipeInputs(loaded, paths.base);
  if (originals) for (const path of originals) inputs[`(originals)/${relative(paths.base, path)}`] = await statIdentity(path);
  else if (loaded.pipeline.key.material === "base-file") inputs["(base)"] = await statIdentity(await resolveBasePath(loaded, paths.base));
  else for (const task of tasks) inputs[`(base)/${task.entry.name}`] = await statIdentity(join(paths.base, task.entry.name));
  const chained = originals && loaded.baseRecipe ? { recipe: loaded.baseRecipe.recipe, base: loaded.baseRecipe.base, pipeline: loaded.baseRecipe.pipeline } : undefined;
  const what = { recipe: loaded.recipe, base: loaded.base, pipeline: loaded.pipeline, settings, inputs, ...(chained ? { baseRecipe: chained } : {}) };
  return createHash("sha256").update(JSON.stringify(what)).digest("hex");
}

/**
 * The same identity for a tensor recipe (a conversion, an additive delta): the recipe and its base
 * recipe as loaded, the settings, and each file it reads (tensor-inputs.ts), by the same stat identity.
 */
export async function tensorInputsDigest(loaded: LoadedTensorRecipe, paths: { enc: string; base: string }, settings: object): Promise<string> {
  const inputs: Record<string, string> = {};
  for (const { label, path } of await tensorRecipeInputs(loaded, paths)) inputs[label] = await statIdentity(path);
  const baseRecipe = loaded.baseRecipe ? { recipe: loaded.baseRecipe.recipe, base: loaded.baseRecipe.base, pipeline: loaded.baseRecipe.pipeline } : undefined;
  const what = { recipe: loaded.recipe, base: loaded.base, pipeline: loaded.pipeline, settings, inputs, ...(baseRecipe ? { baseRecipe } : {}) };
  return createHash("sha256").update(JSON.stringify({ tensor: what })).digest("hex");
}

async function statIdentity(path: string): Promise<string> {
  const info = await stat(path, { bigint: true }).catch(() => undefined);
  return info ? `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}` : "absent";
}

/**
 * The identity of a chained recipe's base step (its base recipe converting the original download),
 * for turbo's `recover-base` task: the base recipe as loaded, the verify mode, each original's stat
 * identity. "none" when there is no such step (no base recipe, or --base is a folder converted before).
 */
export async function baseStepDigest(loaded: AnyLoadedRecipe, basePath: string, verify: string): Promise<string> {
  const originals = loaded.baseRecipe ? await baseRecipeInputs(loaded, basePath) : undefined;
  if (!originals || !loaded.baseRecipe) return "none";
  const inputs: Record<string, string> = {};
  for (const path of originals) inputs[relative(basePath, path)] = await statIdentity(path);
  const { recipe, base, pipeline } = loaded.baseRecipe;
  return createHash("sha256").update(JSON.stringify({ baseStep: { recipe, base, pipeline, verify, inputs } })).digest("hex");
}
