import { readdir, readFile } from "node:fs/promises";
import { pipelinesDir } from "../data-dirs.js";
import { RecipeError } from "../errors.js";
import type { DeltaMath } from "../delta/delta-plan.js";
import type { ShardFormat } from "../tensors/shard-file.js";
import { schemaProblems } from "./validate.js";

/** How one XOR release format is recovered: pipelines/<name>.json (see pipelines/pipeline.schema.json). */
export interface PipelineDefinition {
  engine: "xor";
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

/**
 * A pipeline of the tensor engine: checkpoints read tensor by tensor (row blocks, pread) and written
 * as a new Hugging Face folder. `transform` names the math; llama-original-to-hf is
 * convert_llama_weights_to_hf.py at transformers d04ec99 (spec llama-patches.md §3); add-delta and
 * add-delta-v0 are FastChat's apply_delta of a published delta, weight-diff Alpaca's weight_diff.py (§4).
 */
export interface TensorPipelineDefinition {
  engine: "tensor";
  name: string;
  title: string;
  spec: string;
  transform: "llama-original-to-hf" | DeltaMath;
  output: ShardFormat;
  steps: ("input-files" | "input-shapes" | "input-md5" | "room")[];
  checks: "card-md5"[];
}

export type AnyPipelineDefinition = PipelineDefinition | TensorPipelineDefinition;

export const isTensorPipeline = (pipeline: AnyPipelineDefinition): pipeline is TensorPipelineDefinition => pipeline.engine === "tensor";

/** A pipeline that adds a published delta to a base in Hugging Face format (its inputs: --base and the delta folder). */
export const isDeltaPipeline = (pipeline: AnyPipelineDefinition): pipeline is TensorPipelineDefinition & { transform: DeltaMath } =>
  pipeline.engine === "tensor" && pipeline.transform !== "llama-original-to-hf";

const loaded = new Map<string, Promise<AnyPipelineDefinition>>();

/** An XOR format by name (pack --format, recipe from-folder --format); a tensor pipeline is not one. */
export async function loadXorPipeline(name: string, where: string): Promise<PipelineDefinition> {
  const xor = await xorPipelineNames();
  if (!xor.includes(name)) {
    const what = (await pipelineNames()).includes(name) ? "is a conversion pipeline, not an XOR release format" : "is not a pipeline in pipelines/";
    throw new RecipeError(where, `${where}: /pipeline: ${JSON.stringify(name)} ${what} (known: ${xor.join(", ")})`);
  }
  return (await loadPipeline(name, where)) as PipelineDefinition;
}

/** The definition a recipe names; an unknown name is the recipe's error. */
export function loadPipeline(name: string, recipeFile: string): Promise<AnyPipelineDefinition> {
  let definition = loaded.get(name);
  if (!definition) {
    definition = read(name, recipeFile);
    loaded.set(name, definition);
    definition.catch(() => loaded.delete(name));
  }
  return definition;
}

async function read(name: string, recipeFile: string): Promise<AnyPipelineDefinition> {
  const file = `pipelines/${name}.json`;
  // Only a definition the folder lists: `pack --format` is argv, and `package` or `../x` are no pipelines.
  const known = await pipelineNames();
  if (!known.includes(name)) throw new RecipeError(recipeFile, `${recipeFile}: /pipeline: ${JSON.stringify(name)} is not a pipeline in pipelines/ (known: ${known.join(", ")})`);
  const text = await readFile(`${pipelinesDir}${name}.json`, "utf8");
  const value = JSON.parse(text) as unknown;
  const problems = schemaProblems(file, value, "pipeline");
  if (problems) throw new RecipeError(file, problems.join("\n"));
  return value as AnyPipelineDefinition;
}

/** The pipelines there are: every definition in pipelines/ but the schema and the data package's package.json. */
export async function pipelineNames(): Promise<string[]> {
  const names = await readdir(pipelinesDir);
  return names.filter((n) => n.endsWith(".json") && !n.endsWith(".schema.json") && n !== "package.json").map((n) => n.slice(0, -".json".length)).sort();
}

async function xorPipelineNames(): Promise<string[]> {
  const names: string[] = [];
  for (const name of await pipelineNames()) if (!isTensorPipeline(await loadPipeline(name, "pipelines/"))) names.push(name);
  return names;
}
