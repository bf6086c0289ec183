import { readdir, readFile } from "node:fs/promises";
import { pipelinesDir } from "../data-dirs.js";
import { RecipeError } from "../errors.js";
import { schemaProblems } from "./validate.js";

/** How one release format is recovered: pipelines/<name>.json (see pipelines/pipeline.schema.json). */
export interface PipelineDefinition {
  name: string;
  title: string;
  spec: string;
  encryptedName: "{name}.{sha256}.enc" | "{name}.enc" | "{name}";
  header: "sha256" | "none";
  key: {
    material: "base-file" | "base-folder";
    keystream: "rewinding" | "zero-padded" | "repeating-prefix";
    prefixBytes?: number;
    /** Files with no base counterpart copied as they are (spec §2: added_tokens.json). */
    copyWithoutBase?: string[];
  };
  /** gzip: each payload is the gzip of the XORed bytes (xor_codec --compress). */
  payload?: "plain" | "gzip";
  steps: ("release-files" | "key-prefix-md5" | "key-on-smallest-file" | "base-files" | "room")[];
  checks: ("header-sha256" | "card-md5")[];
  blame?: ("enc-md5" | "base-md5")[];
}


const loaded = new Map<string, Promise<PipelineDefinition>>();

/** The definition a recipe names; an unknown name is the recipe's error. */
export function loadPipeline(name: string, recipeFile: string): Promise<PipelineDefinition> {
  let definition = loaded.get(name);
  if (!definition) {
    definition = read(name, recipeFile);
    loaded.set(name, definition);
    definition.catch(() => loaded.delete(name));
  }
  return definition;
}

async function read(name: string, recipeFile: string): Promise<PipelineDefinition> {
  const file = `pipelines/${name}.json`;
  // Only a definition the folder lists: `pack --format` is argv, and `package` or `../x` are no pipelines.
  const known = await pipelineNames();
  if (!known.includes(name)) throw new RecipeError(recipeFile, `${recipeFile}: /pipeline: ${JSON.stringify(name)} is not a pipeline in pipelines/ (known: ${known.join(", ")})`);
  const text = await readFile(`${pipelinesDir}${name}.json`, "utf8");
  const value = JSON.parse(text) as unknown;
  const problems = schemaProblems(file, value, "pipeline");
  if (problems) throw new RecipeError(file, problems.join("\n"));
  return value as PipelineDefinition;
}

/** The pipelines there are: every definition in pipelines/ but the schema and the data package's package.json. */
export async function pipelineNames(): Promise<string[]> {
  const names = await readdir(pipelinesDir);
  return names.filter((n) => n.endsWith(".json") && !n.endsWith(".schema.json") && n !== "package.json").map((n) => n.slice(0, -".json".length)).sort();
}
