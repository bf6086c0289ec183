import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { RecipeError } from "../errors.js";
import type { BaseCheckpoint } from "./types.js";
import { schemaProblems } from "./validate.js";

/** Base checkpoints described once, in manifests/bases/<id>.json. */
export async function loadBase(manifestsDir: string, id: string, recipeFile: string): Promise<BaseCheckpoint> {
  const file = join(manifestsDir, "bases", `${id}.json`);
  const text = await readFile(file, "utf8").catch(() => {
    throw new RecipeError(recipeFile, `${recipeFile}: /base: "${id}" is not a base in manifests/bases/ (one file per base checkpoint, e.g. llama-7b.json)`);
  });
  return parseBase(`manifests/bases/${id}.json`, text);
}

export async function allBases(manifestsDir: string): Promise<BaseCheckpoint[]> {
  const names = (await readdir(join(manifestsDir, "bases")).catch(() => [])).filter((n) => n.endsWith(".json")).sort();
  return Promise.all(names.map(async (name) => parseBase(`manifests/bases/${name}`, await readFile(join(manifestsDir, "bases", name), "utf8"))));
}

function parseBase(file: string, text: string): BaseCheckpoint {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RecipeError(file, `${file}: not valid JSON (${(error as Error).message})`);
  }
  const problems = schemaProblems(file, value, "base");
  if (problems) throw new RecipeError(file, problems.join("\n"));
  return value as BaseCheckpoint;
}
