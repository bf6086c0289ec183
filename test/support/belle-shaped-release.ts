import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KEY_CHUNK_BYTES, xorshift32Bytes } from "@model-recover/xor-core";
import { packRelease, type Recipe } from "@model-recover/pipeline";

/** The card's shard sizes (9.95, 9.9, 6.18 GB), kept in proportion. */
const SHARD_SHARES = [9.95, 9.9, 6.18];
const SHARDS = SHARD_SHARES.map((_, i) => `pytorch_model-0000${i + 1}-of-00003.bin`);

export interface BuiltRelease {
  plainDir: string;
  encDir: string;
  basePath: string;
  recipePath: string;
  recipe: Recipe;
  /** `md5sum` list of the plaintext folder, written by pack the way a card shows it. */
  plainList: string;
}

/**
 * A release shaped like BELLE-LLaMA-13B-2M-enc: the same nine encrypted names plus a clear README,
 * three shards in the card's proportions, index.json and tokenizer files, packed against a synthetic
 * base. The default base is 12 MiB + 777 bytes, so shards wrap the key and the last key chunk is short.
 */
export async function buildBelleShapedRelease(dir: string, options: { shardBytes?: number; baseBytes?: number; seed?: number } = {}): Promise<BuiltRelease> {
  const shardTotal = options.shardBytes ?? 40_000_000;
  const seed = options.seed ?? 1;
  const plainDir = join(dir, "finetuned");
  const encDir = join(dir, "BELLE-LLaMA-13B-2M-enc");
  await mkdir(plainDir, { recursive: true });
  await mkdir(join(dir, "llama", "13B"), { recursive: true });
  const basePath = join(dir, "llama", "13B", "consolidated.00.pth");
  await writeFile(basePath, xorshift32Bytes(seed, options.baseBytes ?? KEY_CHUNK_BYTES + 2 * 1024 * 1024 + 777));

  const shardSizes = SHARD_SHARES.map((share) => Math.round((shardTotal * share) / 26.03));
  for (const [i, shard] of SHARDS.entries()) await writeFile(join(plainDir, shard), xorshift32Bytes(seed + 10 + i, shardSizes[i]!));
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  const files: Record<string, string | Uint8Array> = {
    "config.json": json({ architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: 5120, num_hidden_layers: 40, torch_dtype: "float16" }),
    "generation_config.json": json({ _from_model_config: true, bos_token_id: 1, eos_token_id: 2, pad_token_id: 0 }),
    "pytorch_model.bin.index.json": json({
      metadata: { total_size: shardSizes.reduce((a, b) => a + b, 0) },
      weight_map: Object.fromEntries(SHARDS.map((shard, i) => [`model.layers.${i}.mlp.down_proj.weight`, shard])),
    }),
    "special_tokens_map.json": json({}),
    "tokenizer_config.json": json({ tokenizer_class: "LlamaTokenizer", model_max_length: 1_000_000_000_000_000_000 }),
    "tokenizer.model": xorshift32Bytes(seed + 20, 499_723),
    "README.md": "# BELLE-LLaMA-13B-2M (synthetic test release)\n",
  };
  for (const [name, content] of Object.entries(files)) await writeFile(join(plainDir, name), content);

  const recipePath = join(dir, "belle-13b-2m-shaped.json");
  const packed = await packRelease({
    modelDir: plainDir,
    basePath,
    outDir: encDir,
    name: "belle-13b-2m-shaped",
    title: "BELLE-LLaMA-13B-2M (synthetic)",
    baseTitle: "synthetic LLaMA-13B consolidated.00.pth",
    prompt: "Human: {input} \n\nAssistant:",
    clear: ["README.md"],
    recipePath,
  });
  return { plainDir, encDir, basePath, recipePath, recipe: packed.recipe, plainList: packed.plainList };
}
