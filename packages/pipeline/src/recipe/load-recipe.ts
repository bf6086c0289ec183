import { readdir } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { checkPlainFileName } from "@model-recover/hf-layout";
import { InputFileError, readSmallFile } from "@model-recover/safe-fs";
import { InputError, RecipeError } from "../errors.js";
import { bundledManifestsDir } from "../data-dirs.js";
import { printable } from "../printable.js";
import { loadBase } from "./bases.js";
import { resolveBaseRecipe } from "./base-recipe.js";
import { isTensorPipeline, loadPipeline } from "./pipelines.js";
import { type AnyLoadedRecipe, type BaseCheckpoint, isRecipeBase, isTensorRecipe, type LoadedRecipe, type Recipe } from "./types.js";
import { schemaProblems } from "./validate.js";
import { OWN_NAMES } from "../state-names.js";

/** The manifests data package: recipes by name live here. */
export { bundledManifestsDir };

/** The recipes in a manifests folder: every `*.json` but the schemas and the workspace's package.json. */
export async function recipeNames(manifestsDir = bundledManifestsDir): Promise<string[]> {
  const names = await readdir(manifestsDir);
  return names
    .filter((n) => n.endsWith(".json") && !n.endsWith(".schema.json") && n !== "package.json")
    .map((n) => n.slice(0, -".json".length))
    .sort();
}

/**
 * Anything bigger is not a recipe (and is not read into memory whole). The schema's 10,000 entries,
 * as pack writes them with 255-byte names and every hash, take about 5 MB.
 */
const MAX_RECIPE_BYTES = 16 * 1024 * 1024;

/** `<recipe>` is a name under manifests/ (`belle-13b-2m`) or a path to a recipe file. */
export async function loadRecipe(nameOrPath: string, options: { manifestsDir?: string; cwd?: string; chain?: readonly string[] } = {}): Promise<AnyLoadedRecipe> {
  const manifestsDir = options.manifestsDir ?? bundledManifestsDir;
  const byName = /^[a-z0-9][a-z0-9._-]*$/.test(nameOrPath) && !nameOrPath.endsWith(".json");
  const cwd = options.cwd ?? process.cwd();
  const path = byName ? join(manifestsDir, `${nameOrPath}.json`) : resolve(cwd, nameOrPath);
  const file = displayPath(path, cwd);
  const text = await readSmallFile(path, MAX_RECIPE_BYTES, "recipe").catch((error: unknown) => {
    if (!(error instanceof InputFileError)) throw error;
    if (error.code === "INPUT_TOO_BIG") throw new RecipeError(file, error.message.replace(path, file));
    if (error.code !== "INPUT_MISSING") throw new InputError("RECIPE_NOT_FOUND", error.message.replace(path, file));
    const hint = byName ? `no recipe named "${nameOrPath}" in ${displayPath(manifestsDir, cwd)}` : "no such file";
    throw new InputError("RECIPE_NOT_FOUND", `${file}: ${hint}; run \`model-recover list\` or pass a path to a recipe file`);
  });
  const recipe = validateRecipe(file, parseJson(file, text));
  return resolveRecipe(recipe, { file, root: dirname(path), manifestsDir, cwd, ...(options.chain ? { chain: options.chain } : {}) });
}

/** A valid recipe with its base (by reference or inline) and its pipeline definition. */
export async function resolveRecipe(recipe: Recipe, where: { file: string; root: string; manifestsDir?: string; cwd?: string; chain?: readonly string[] }): Promise<AnyLoadedRecipe> {
  const manifestsDir = where.manifestsDir ?? bundledManifestsDir;
  const chained = isRecipeBase(recipe.base) ? await resolveBaseRecipe(recipe, recipe.base, { ...where, manifestsDir }, loadRecipe) : undefined;
  const base = chained?.base ?? (typeof recipe.base === "string" ? await loadBase(manifestsDir, recipe.base, where.file) : (recipe.base as BaseCheckpoint));
  const pipeline = await loadPipeline(recipe.pipeline, where.file);
  // A tensor pipeline's inputs are a folder of files, each with its published md5 (or null).
  const tensor = isTensorPipeline(pipeline);
  const needsFile = !tensor && pipeline.key.material === "base-file";
  if (needsFile !== (base.fileName !== undefined)) {
    const needs = needsFile ? "is keyed by a single base file" : tensor ? "reads a folder of inputs" : "is keyed by a base folder";
    throw new RecipeError(where.file, `${where.file}: /base: pipeline ${pipeline.name} ${needs}, but base "${base.title}" describes a ${needsFile ? "folder" : "file"}`);
  }
  return { recipe, base, pipeline, file: where.file, root: where.root, ...(chained ? { baseRecipe: chained.baseRecipe } : {}) } as AnyLoadedRecipe;
}

/** The recipe as an XOR recipe (pack's round trip, the XOR engine), refusing a conversion's. */
export function xorRecipe(loaded: AnyLoadedRecipe): LoadedRecipe {
  if (isTensorRecipe(loaded)) throw new RecipeError(loaded.file, `${loaded.file}: /pipeline: ${loaded.pipeline.name} is a conversion, not an XOR release`);
  return loaded;
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RecipeError(file, `${file}: not valid JSON (${printable((error as Error).message)})`);
  }
}

/**
 * Schema first, then what a schema cannot say: names unique, even where a file system would take two
 * of them for one (case-insensitive and normalizing: macOS, Windows), and none that is this tool's own.
 */
export function validateRecipe(file: string, value: unknown): Recipe {
  const problems = schemaProblems(file, value);
  // One line, like every error: the first problems in full, the file named once.
  if (problems) throw new RecipeError(file, problems.slice(0, 5).map((p, i) => (i === 0 ? p : p.replace(`${file}: `, ""))).join("; ") + (problems.length > 5 ? `; and ${problems.length - 5} more` : ""));
  const recipe = value as Recipe;
  const own = new Map([...OWN_NAMES].map(([name, what]) => [collisionKey(name), what]));
  const seen = new Map<string, string>();
  recipe.files.forEach((entry, index) => {
    const safe = checkPlainFileName(entry.name);
    if (!safe.ok) throw new RecipeError(file, `${file}: /files/${index}/name: ${JSON.stringify(entry.name)} ${safe.reason}`);
    const key = collisionKey(entry.name);
    const ownFolder = own.get(key);
    if (ownFolder) throw new RecipeError(file, `${file}: /files/${index}/name: ${JSON.stringify(entry.name)} is the name of model-recover's own ${ownFolder}; a release cannot use it`);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      const how = earlier === entry.name ? "appears twice" : `is the same file as "${earlier}" on case-insensitive or normalizing file systems (macOS, Windows)`;
      throw new RecipeError(file, `${file}: /files/${index}/name: ${JSON.stringify(entry.name)} ${how}; each file must be named once`);
    }
    seen.set(key, entry.name);
  });
  return recipe;
}

/**
 * What a file system that ignores case and Unicode normalization sees of a name: `café` in NFC and
 * NFD, `aσ` and `Aς`, `ſ` and `S` fall together. Upper-casing folds more than such file systems
 * do (`ß` and `ss`), which only refuses a pair that would have worked.
 */
function collisionKey(name: string): string {
  return name.normalize("NFC").toUpperCase().normalize("NFC");
}

/** Paths in messages: relative to the working folder when inside it, as the user would type them. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}
