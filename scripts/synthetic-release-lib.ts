import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadXorPipeline, packRelease, type PipelineDefinition, type Recipe, type RecipeFile } from "@model-recover/pipeline";
import { xorshift32Bytes } from "@model-recover/xor-core";

export interface SyntheticReleaseOptions {
  recipe: Recipe;
  outDir: string;
  /** Bytes written per GB (10^9 bytes) the recipe states: 1000 turns a 9.9 GB shard into ~9.9 kB. */
  bytesPerGB?: number;
  seed?: number;
}

export interface SyntheticRelease {
  /** The plaintext folder that was packed (what recovery must give back). */
  modelDir: string;
  basePath: string;
  encDir: string;
  recipePath: string;
  /** The recipe of the synthetic release, as pack wrote it. */
  recipe: Recipe;
  /** The arguments of `model-recover` that recover it into `<outDir>/recovered`. */
  recoverArgs: string[];
}

export const DEFAULT_BYTES_PER_GB = 1000;
/** A base smaller than one key chunk (10 MiB), so every file wraps the key; the odd 123 leaves it unaligned. */
const BASE_BYTES = 1024 * 1024 + 123;
const BASE_FILE_NAME = "consolidated.00.pth";
/** A file whose size the recipe does not know and that has no sibling of known size. */
const UNKNOWN_FILE_BYTES = 1000;

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * A release of `recipe`'s own shape, small enough for CI: the same file names, the sizes the recipe
 * knows scaled down, valid config.json and index files, packed against a seeded base and round-tripped
 * by `packRelease`. Deterministic for a given recipe, scale and seed.
 */
export async function buildSyntheticRelease(options: SyntheticReleaseOptions): Promise<SyntheticRelease> {
  const { recipe, outDir } = options;
  const bytesPerGB = options.bytesPerGB ?? DEFAULT_BYTES_PER_GB;
  const seed = options.seed ?? 1;
  const modelDir = join(outDir, "model");
  const encDir = join(outDir, "release");
  const recipePath = join(outDir, "recipe.json");
  const recoveredDir = join(outDir, "recovered");
  for (const stale of [modelDir, encDir, join(outDir, "base"), recipePath, recoveredDir]) await rm(stale, { recursive: true, force: true });
  await mkdir(modelDir, { recursive: true });
  await mkdir(join(outDir, "base"), { recursive: true });

  const sizes = new Map(recipe.files.map((file) => [file.name, scaledSize(file, recipe.files, bytesPerGB)]));
  // The recipe's own format, with a base of the kind it is keyed by.
  const pipeline = await loadXorPipeline(recipe.pipeline, recipe.name);
  const basePath = await syntheticBase(pipeline, recipe, sizes, join(outDir, "base"), seed);
  for (const [position, file] of recipe.files.entries()) {
    await writeFile(join(modelDir, file.name), syntheticContent(file, recipe, sizes, seed + 1 + position));
  }

  const packed = await packRelease({
    modelDir,
    basePath,
    outDir: encDir,
    name: `${recipe.name.slice(0, 90)}-synthetic`,
    format: pipeline.name,
    title: `${recipe.title.slice(0, 180)} (synthetic)`,
    baseTitle: `synthetic base for ${recipe.name} (seeded bytes)`,
    ...(recipe.prompt ? { prompt: recipe.prompt } : {}),
    clear: recipe.files.filter((file) => file.clear).map((file) => file.name),
    recipePath,
  });
  const recoverArgs = ["recover", recipePath, "--base", basePath, "--enc", encDir, "--out", recoveredDir];
  return { modelDir, basePath, encDir, recipePath, recipe: packed.recipe, recoverArgs };
}

/**
 * The recipe's size scaled down, at least one byte. A file of unknown size takes the largest known
 * size among files of the same extension (BELLE's card gives the size of one shard of three).
 */
function scaledSize(file: RecipeFile, files: RecipeFile[], bytesPerGB: number): number {
  const extension = extensionOf(file.name);
  const siblings = files.filter((other) => other.size !== undefined && extensionOf(other.name) === extension).map((other) => other.size!);
  const bytes = file.size ?? (siblings.length > 0 ? Math.max(...siblings) : undefined);
  if (bytes === undefined) return UNKNOWN_FILE_BYTES;
  return Math.max(1, Math.round((bytes * bytesPerGB) / 1e9));
}

function syntheticContent(file: RecipeFile, recipe: Recipe, sizes: Map<string, number>, seed: number): string | Uint8Array {
  const { name } = file;
  if (name === "config.json") return json(llamaConfig());
  if (name.endsWith(".index.json")) return json(weightIndex(name, recipe.files, sizes));
  if (name.endsWith(".json")) return json({ synthetic: `${name} of a release shaped like ${recipe.name}` });
  if (file.clear) return `# ${recipe.title} (synthetic release of the same shape)\n`;
  return xorshift32Bytes(seed, sizes.get(name)!);
}

/** A small LlamaForCausalLM config: what loaders read first, valid JSON of the usual keys. */
function llamaConfig(): Record<string, unknown> {
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: 64,
    intermediate_size: 172,
    num_attention_heads: 4,
    num_hidden_layers: 2,
    vocab_size: 32000,
    rms_norm_eps: 1e-6,
    torch_dtype: "float16",
  };
}

/**
 * `pytorch_model.bin.index.json` names the `pytorch_model-*.bin` shards (`model.safetensors.index.json`
 * the `model-*.safetensors` ones): its weight_map names exactly the recipe's shards of that kind.
 */
function weightIndex(indexName: string, files: RecipeFile[], sizes: Map<string, number>): Record<string, unknown> {
  const weights = indexName.slice(0, -".index.json".length);
  const extension = extensionOf(weights);
  const prefix = `${weights.slice(0, weights.length - extension.length)}-`;
  const shards = files.map((file) => file.name).filter((name) => name.startsWith(prefix) && name.endsWith(extension));
  return {
    metadata: { total_size: shards.reduce((sum, shard) => sum + sizes.get(shard)!, 0) },
    weight_map: Object.fromEntries(shards.map((shard, i) => [`model.layers.${i}.mlp.down_proj.weight`, shard])),
  };
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot) : "";
}

/**
 * A seeded base of the kind the format is keyed by: one file (big enough for a prefix key, spec §3),
 * or a folder holding a same-named file for each payload but those the format copies (spec §2); every
 * other base file is shorter than its payload, so the zero padding is exercised.
 */
async function syntheticBase(pipeline: PipelineDefinition, recipe: Recipe, sizes: Map<string, number>, dir: string, seed: number): Promise<string> {
  if (pipeline.key.material === "base-folder") {
    for (const [position, file] of recipe.files.entries()) {
      if (file.clear || pipeline.key.copyWithoutBase?.includes(file.name)) continue;
      const size = sizes.get(file.name) ?? 1;
      await writeFile(join(dir, file.name), xorshift32Bytes(seed + 1000 + position, position % 2 ? size : Math.ceil(size / 2)));
    }
    return dir;
  }
  const path = join(dir, BASE_FILE_NAME);
  await writeFile(path, xorshift32Bytes(seed, (pipeline.key.prefixBytes ?? 0) + BASE_BYTES));
  return path;
}
