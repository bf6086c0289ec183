import { InputFileError, readSmallFile } from "@model-recover/safe-fs";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "./exit-codes.js";
import { type AnyLoadedRecipe, isDeltaPipeline, isTensorRecipe, printable } from "@model-recover/pipeline";

export interface PathSettings {
  enc: string;
  base: string;
  out: string;
}
type Partial3 = Partial<PathSettings>;

export const CONFIG_FILE = "model-recover.config.json";
/** A config names three paths; anything bigger is not one (and /dev/zero is never read). */
const MAX_CONFIG_BYTES = 64 * 1024;
const KEYS = ["enc", "base", "out"] as const;

/**
 * Where the release folder, the base and the output are: flags win over environment variables,
 * which win over the local config file (per recipe, then global), then over a recipe's bundled paths.
 * A conversion (a tensor recipe) has no release folder (`enc` is ""): its base is the folder of its inputs.
 */
export async function resolvePaths(loaded: AnyLoadedRecipe, flags: Partial3, options: { cwd: string; env: NodeJS.ProcessEnv; configFile?: string; projectDir?: string; fromHub?: boolean }): Promise<PathSettings & { sources: Record<keyof PathSettings, string> }> {
  const { cwd, env } = options;
  const config = await readConfig(options.configFile ?? env.MODEL_RECOVER_CONFIG, cwd, options.projectDir ?? cwd);
  const recipe = loaded.recipe;
  const layers: [string, Partial3][] = [
    ["flag", flags],
    ["environment", { enc: env.MODEL_RECOVER_ENC, base: env.MODEL_RECOVER_BASE, out: env.MODEL_RECOVER_OUT }],
    [config.file ?? CONFIG_FILE, { ...config.global, ...config.recipes[recipe.name] }],
    ["recipe", recipe.bundled ? { enc: join(loaded.root, recipe.bundled.enc), base: join(loaded.root, recipe.bundled.base) } : {}],
    ["default", { out: join("out", recipe.name) }],
  ];
  const chosen: Partial3 = {};
  const sources = {} as Record<keyof PathSettings, string>;
  // A delta recipe reads a release folder too (--enc: the downloaded delta) besides its base.
  const conversion = isTensorRecipe(loaded) && !isDeltaPipeline(loaded.pipeline);
  if (conversion && flags.enc) throw new UsageError(`--enc: ${recipe.name} is a conversion, not a release; it reads the original download given with --base`);
  for (const key of KEYS) {
    // --from-hub streams the release: no folder to find.
    if ((conversion || options.fromHub) && key === "enc") continue;
    const layer = layers.find(([, values]) => values[key]);
    if (!layer) throw new UsageError(missingMessage(key, recipe.name, conversion, isTensorRecipe(loaded) && !conversion));
    chosen[key] = resolve(layer[0] === config.file ? config.dir : cwd, layer[1][key]!);
    sources[key] = layer[0];
  }
  return { ...(chosen as PathSettings), enc: chosen.enc ?? "", sources };
}

function missingMessage(key: "enc" | "base" | "out", recipe: string, conversion: boolean, delta: boolean): string {
  const what = delta ? (key === "enc" ? "the downloaded delta folder" : "LLaMA in Hugging Face format, convert-llama's output") : key === "enc" ? "the downloaded *-enc folder" : conversion ? "the folder of the original LLaMA download" : "the base checkpoint (consolidated.00.pth)";
  return `no --${key} given for ${recipe}: pass --${key} <${what}>, set MODEL_RECOVER_${key.toUpperCase()}, or put "${key}" in ${CONFIG_FILE}`;
}

interface LocalConfig {
  file?: string;
  dir: string;
  global: Partial3;
  recipes: Record<string, Partial3>;
}

/** The git-ignored local config: `{ "base": …, "recipes": { "<name>": { "enc": …, "base": …, "out": … } } }`. */
async function readConfig(explicit: string | undefined, cwd: string, projectDir: string): Promise<LocalConfig> {
  const candidates = explicit ? [resolve(cwd, explicit)] : [...new Set([join(cwd, CONFIG_FILE), join(projectDir, CONFIG_FILE)])];
  for (const file of candidates) {
    const text = await readSmallFile(file, MAX_CONFIG_BYTES, "config file").catch((error: unknown) => {
      // A config that is there but is no regular file (a FIFO, /dev/zero) is bad input, refused unread.
      if (!(error instanceof InputFileError) || error.code !== "INPUT_MISSING") throw error;
      if (!explicit) return undefined;
      throw new UsageError(error.message);
    });
    if (text === undefined) continue;
    return parseConfig(file, text);
  }
  return { dir: cwd, global: {}, recipes: {} };
}

function parseConfig(file: string, text: string): LocalConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file}: not valid JSON (${printable((error as Error).message)})`);
  }
  const { recipes = {}, ...global } = asPaths(file, "", value, true) as Partial3 & { recipes?: unknown };
  const perRecipe: Record<string, Partial3> = {};
  for (const [name, paths] of Object.entries(asObject(file, "/recipes", recipes))) perRecipe[name] = asPaths(file, `/recipes/${name}`, paths, false);
  return { file, dir: dirname(file), global, recipes: perRecipe };
}

function asObject(file: string, path: string, value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError(`${file}: ${path || "/"}: must be an object`);
  return value as Record<string, unknown>;
}

function asPaths(file: string, path: string, value: unknown, allowRecipes: boolean): Partial3 {
  const object = asObject(file, path, value);
  for (const [key, entry] of Object.entries(object)) {
    if (allowRecipes && key === "recipes") continue;
    if (!(KEYS as readonly string[]).includes(key)) throw new UsageError(`${file}: ${path}/${key}: unknown key (allowed: ${KEYS.join(", ")}${allowRecipes ? ", recipes" : ""})`);
    if (typeof entry !== "string" || entry === "") throw new UsageError(`${file}: ${path}/${key}: must be a path (a non-empty string)`);
  }
  return object as Partial3;
}
