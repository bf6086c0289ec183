import { stat } from "node:fs/promises";
import { join } from "node:path";
import { type HfShard, shardCheckpoint } from "@model-recover/llama-convert";
import { readSmallFile } from "@model-recover/safe-fs";
import { hfIndexFile, shardFileBytes, shardFileName, type ShardFormat } from "../tensors/shard-file.js";
import type { DeltaTensor } from "./delta-plan.js";
import type { DeltaFix } from "./delta-events.js";
import { listFolder, refuseSpecialFiles } from "../inspect/folder-listing.js";

/** One file of the tuned folder and how it is made. */
export type DeltaOutput =
  | { kind: "shard"; name: string; bytes: number; shard: HfShard<DeltaTensor> }
  | { kind: "text"; name: string; bytes: number; text: string }
  | { kind: "copy"; name: string; bytes: number; source: string };

/** The delta's files that travel to the tuned folder: FastChat saves the delta's tokenizer, and its config is the tuned model's. */
const COPIED = /^(config\.json|generation_config\.json|special_tokens_map\.json|added_tokens\.json|tokenizer(\.model|\.json|_config\.json))$/;
/** tokenizer_config.json is a few hundred bytes. */
const MAX_TOKENIZER_CONFIG_BYTES = 1024 * 1024;

/**
 * The tuned folder as FastChat's save_pretrained left it: the shards in the base's state-dict order,
 * split as save_pretrained splits (10 GB), their index, and the delta's config and tokenizer files.
 * Shards first: a folder whose run was interrupted has no config.json, so nothing takes it for a model.
 */
export async function planDeltaOutputs(tensors: readonly DeltaTensor[], deltaDir: string, format: ShardFormat, maxShardBytes?: number): Promise<{ outputs: DeltaOutput[]; fixes: DeltaFix[] }> {
  const shards = shardCheckpoint(tensors, maxShardBytes);
  const outputs: DeltaOutput[] = shards.map((shard) => ({ kind: "shard", name: shardFileName(shard, format), bytes: shardFileBytes(shard, format), shard }));
  const index = hfIndexFile(shards, format);
  if (index) outputs.push(text(index.name, index.text));
  const fixes: DeltaFix[] = [];
  const { names, files } = await listFolder(deltaDir);
  await refuseSpecialFiles(deltaDir, [...names].filter((n) => COPIED.test(n)), "it is copied into the output folder as it is");
  for (const name of [...files].filter((n) => COPIED.test(n)).sort()) {
    const source = join(deltaDir, name);
    if (name === "tokenizer_config.json") {
      const fixed = fixTokenizerClass(await readSmallFile(source, MAX_TOKENIZER_CONFIG_BYTES, "tokenizer_config.json"));
      if (fixed.fix) fixes.push({ file: name, what: fixed.fix });
      outputs.push(text(name, fixed.text));
    } else {
      outputs.push({ kind: "copy", name, bytes: (await stat(source)).size, source });
    }
  }
  return { outputs, fixes };
}

const text = (name: string, content: string): DeltaOutput => ({ kind: "text", name, bytes: Buffer.byteLength(content), text: content });

/**
 * Conversions of March 2023 named the class `LLaMATokenizer`, which transformers released as
 * `LlamaTokenizer` (FastChat #493, transformers #22222): AutoTokenizer cannot load the old name. Only
 * that JSON value is changed; the rest of the file is kept byte for byte.
 */
export function fixTokenizerClass(text: string): { text: string; fix?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { text };
  }
  if ((parsed as { tokenizer_class?: unknown })?.tokenizer_class !== "LLaMATokenizer") return { text };
  const fixed = text.replace(/("tokenizer_class"\s*:\s*)"LLaMATokenizer"/, '$1"LlamaTokenizer"');
  return { text: fixed, fix: 'tokenizer_class "LLaMATokenizer" (the pre-release name transformers cannot load) written as "LlamaTokenizer"' };
}
