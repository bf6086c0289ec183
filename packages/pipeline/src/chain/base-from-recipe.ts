import { createHash } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { overlapOf } from "@model-recover/safe-fs";
import { type EntryRecord, RecipeStore } from "../cache/recipe-store.js";
import { InputError } from "../errors.js";
import { convertLlama } from "../convert/convert-llama.js";
import type { ConvertLlamaEvent, ConvertLlamaSummary } from "../convert/llama-events.js";
import { findOriginals, type OriginalsFolder } from "../convert/originals.js";
import { type AnyLoadedRecipe, isTensorRecipe, type LoadedTensorRecipe } from "../recipe/types.js";

/** What the chain reports besides the conversion's own events. */
export type ChainEvent =
  | { type: "base-recipe-reused"; recipe: string; dir: string; made: string }
  | { type: "base-recipe-damaged"; recipe: string; dir: string; reason: string }
  | { type: "base-recipe-making"; recipe: string; dir: string }
  | { type: "base-recipe-stored"; recipe: string; dir: string };

export interface BaseFromRecipeOptions {
  /** The recipe to recover; only one whose base is a conversion recipe's output (`"base": {"recipe": …}`) is chained. */
  loaded: AnyLoadedRecipe;
  /** What the user gave as the base: the conversion's inputs (the original download), or its output made before. */
  basePath: string;
  /** The content store the conversion's verified output is kept in (see RecipeStore). */
  storeDir: string;
  /** "full" (default): the originals are hashed against their published md5s; "shapes": the shape check alone. */
  verify?: "full" | "shapes";
  onEvent?: (event: ConvertLlamaEvent | ChainEvent) => void;
  signal?: AbortSignal;
  /** Awaited once the conversion's inputs are checked, before it writes anything. */
  beforeWork?: () => Promise<void>;
}

export type BaseFromRecipe =
  | { kind: "given"; dir: string }
  | { kind: "reused"; dir: string; record: EntryRecord }
  | { kind: "made"; dir: string; summary: ConvertLlamaSummary }
  | { kind: "failed"; summary: ConvertLlamaSummary };

/**
 * The base folder of a chained recipe. Given the original download, the base recipe (a conversion)
 * is run into the store, or its entry for these inputs reused without any conversion work; given
 * anything else (a folder converted before), that is the base, as it was before recipes chained.
 * Whatever the recipe's own engine, it then reads the returned folder as its base.
 */
export async function baseFromRecipe(options: BaseFromRecipeOptions): Promise<BaseFromRecipe> {
  const { loaded, basePath, verify = "full", onEvent = () => {} } = options;
  const baseRecipe = loaded.baseRecipe;
  if (!baseRecipe) return { kind: "given", dir: basePath };
  if (!(await stat(basePath).catch(() => undefined))) {
    const what = isTensorRecipe(baseRecipe) ? `the original download ${baseRecipe.recipe.name} converts, or a folder it made` : `a folder ${baseRecipe.recipe.name} made`;
    throw new InputError("BASE_MISSING", `${basePath}: not found; ${loaded.recipe.title} is built on ${baseRecipe.recipe.name}: pass --base <${what}>`);
  }
  if (!isTensorRecipe(baseRecipe) || !(await looksLikeOriginals(basePath))) return { kind: "given", dir: basePath };
  const name = baseRecipe.recipe.name;
  const originals = await findOriginals(basePath, baseRecipe.base.model);
  const store = new RecipeStore(options.storeDir);
  const keys = await entryKeys(baseRecipe, originals, verify);
  for (const key of keys.lookup) {
    const found = await store.find(name, key);
    if (found.state === "verified") {
      onEvent({ type: "base-recipe-reused", recipe: name, dir: found.dir, made: found.record.made });
      return { kind: "reused", dir: found.dir, record: found.record };
    }
    if (found.state === "damaged") onEvent({ type: "base-recipe-damaged", recipe: name, dir: found.dir, reason: found.reason });
  }
  await refuseStoreInOriginals(options.storeDir, [basePath, originals.dir]);
  const partial = await store.partialDir(name, keys.write);
  onEvent({ type: "base-recipe-making", recipe: name, dir: partial });
  const summary = await convertLlama({ originals: basePath, outDir: partial, recipe: baseRecipe, verify, onEvent, ...pick(options) });
  if (!summary.ok) return { kind: "failed", summary };
  const files = summary.files.flatMap((f) => (f.status === "verified" ? [f.file] : []));
  const inputs = summary.inputs.map(({ name: input, bytes, md5 }) => ({ name: input, bytes, ...(md5 ? { md5 } : {}) }));
  const dir = await store.commit(partial, { recipe: name, key: keys.write, inputs }, files).catch(async (error: NodeJS.ErrnoException) => {
    // Another run, between this conversion's end and its rename, found the same verified files and committed them first.
    const found = error.code === "ENOENT" ? await store.find(name, keys.write) : undefined;
    if (found?.state !== "verified") throw error;
    return found.dir;
  });
  onEvent({ type: "base-recipe-stored", recipe: name, dir });
  return { kind: "made", dir, summary };
}

/** The store is written; the download it converts is an input, and nothing is ever written inside an input. */
async function refuseStoreInOriginals(storeDir: string, originals: readonly string[]): Promise<void> {
  for (const path of originals) {
    const relation = await overlapOf(storeDir, path);
    if (relation !== "same" && relation !== "inside") continue;
    throw new InputError("OUT_OVERLAPS", `${storeDir}: the content store (--store) ${relation === "same" ? "is the same as" : "is inside"} the original download (--base) ${path}; pass a store apart from the original download, so that nothing of yours is overwritten or removed`);
  }
}

/**
 * The files the chain would read as its base recipe's inputs (the originals, in the order the key
 * lists them), or undefined when `basePath` is the base itself: what a cache of the whole chain
 * must be keyed by besides the recipes.
 */
export async function baseRecipeInputs(loaded: AnyLoadedRecipe, basePath: string): Promise<string[] | undefined> {
  const baseRecipe = loaded.baseRecipe;
  if (!baseRecipe || !isTensorRecipe(baseRecipe) || !(await looksLikeOriginals(basePath))) return undefined;
  const originals = await findOriginals(basePath, baseRecipe.base.model);
  return [originals.paramsPath, originals.tokenizer, ...originals.shards].filter((path): path is string => path !== undefined);
}

function pick({ signal, beforeWork }: BaseFromRecipeOptions) {
  return { ...(signal ? { signal } : {}), ...(beforeWork ? { beforeWork } : {}) };
}

/**
 * The download's own layout: params.json in the folder, or in a model folder inside it. A folder
 * converted before has none (its config.json says the same in Hugging Face's words).
 */
async function looksLikeOriginals(path: string): Promise<boolean> {
  const has = (dir: string) => stat(join(dir, "params.json")).then((info) => info.isFile(), () => false);
  if (await has(path)) return true;
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) if (entry.isDirectory() && !entry.name.startsWith(".") && (await has(join(path, entry.name)))) return true;
  return false;
}

/**
 * Where the conversion of these originals is kept: a digest of the recipe as loaded (its published
 * hashes, its pipeline, so an edit makes a new entry) and of each input. An input whose md5 is
 * published and will be checked before anything is made stands for that published file wherever it
 * lies (its name, size and md5); any other input is this very file (device, inode, size, mtime,
 * ctime), as a conversion with `--verify sha256` (the shape check alone) or of an unpublished size
 * has nothing else to go by. Such a run also takes an entry made from checked inputs.
 */
async function entryKeys(recipe: LoadedTensorRecipe, originals: OriginalsFolder, verify: "full" | "shapes"): Promise<{ lookup: string[]; write: string }> {
  const published = new Map((recipe.base.files ?? []).map((f) => [f.name, f.md5]));
  const checked: object[] = [];
  const asFound: object[] = [];
  for (const path of [originals.paramsPath, originals.tokenizer, ...originals.shards]) {
    if (!path) continue;
    const info = await stat(path, { bigint: true });
    const name = basename(path);
    const md5 = published.get(name);
    const file = { name, bytes: String(info.size), file: `${info.dev}:${info.ino}:${info.mtimeNs}:${info.ctimeNs}` };
    checked.push(md5 ? { name, bytes: String(info.size), md5 } : file);
    asFound.push(file);
  }
  const digest = (inputs: object[]) => createHash("sha256").update(JSON.stringify({ recipe: recipe.recipe, base: recipe.base, pipeline: recipe.pipeline, inputs })).digest("hex").slice(0, 32);
  const full = digest(checked);
  return verify === "full" ? { lookup: [full], write: full } : { lookup: [full, digest(asFound)], write: digest(asFound) };
}
