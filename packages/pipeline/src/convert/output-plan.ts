import { configJson, generationConfigJson, type HfShard, type LlamaParams, type PlannedTensor, specialTokensMapJson, tokenizerConfigJson } from "@model-recover/llama-convert";
import { hfIndexFile, shardFileBytes, shardFileName, type ShardFormat } from "../tensors/shard-file.js";

/** One file of the converted folder and how it is made. */
export type PlannedOutput =
  | { kind: "shard"; name: string; bytes: number; shard: HfShard<PlannedTensor> }
  | { kind: "text"; name: string; bytes: number; text: string }
  | { kind: "copy"; name: string; bytes: number; source: string };

/**
 * The converted folder as transformers d04ec99 wrote it: the shards (save_pretrained's), their index,
 * config.json and generation_config.json, the tokenizer's files and tokenizer.model copied as it is.
 * Shards first: a folder whose conversion was interrupted has no config.json, so nothing takes it
 * for a model. A dry run makes everything but the shards.
 */
export function planOutputs(shards: readonly HfShard<PlannedTensor>[], format: ShardFormat, params: LlamaParams, tokenizer: { path: string; bytes: number } | undefined, dryRun: boolean) {
  const shardFiles = shards.map((shard): PlannedOutput => ({ kind: "shard", name: shardFileName(shard, format), bytes: shardFileBytes(shard, format), shard }));
  const index = hfIndexFile(shards, format);
  const texts: [string, string][] = [
    ...(index ? [[index.name, index.text] as [string, string]] : []),
    ["config.json", configJson(params)],
    ["generation_config.json", generationConfigJson()],
    ["special_tokens_map.json", specialTokensMapJson()],
    ["tokenizer_config.json", tokenizerConfigJson()],
  ];
  const small: PlannedOutput[] = texts.map(([name, text]) => ({ kind: "text", name, bytes: Buffer.byteLength(text), text }));
  const copies: PlannedOutput[] = tokenizer ? [{ kind: "copy", name: "tokenizer.model", bytes: tokenizer.bytes, source: tokenizer.path }] : [];
  return {
    write: [...(dryRun ? [] : shardFiles), ...small, ...copies],
    notWritten: dryRun ? shardFiles.map(({ name, bytes }) => ({ name, bytes })) : [],
  };
}
