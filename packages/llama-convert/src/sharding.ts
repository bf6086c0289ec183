import { pythonJsonDumps } from "./python-json.js";
import { type ShardableTensor, tensorBytes } from "./tensor-plan.js";

/** save_pretrained's default max_shard_size "10GB": convert_file_size_to_int counts GB as 10**9. */
export const MAX_SHARD_BYTES = 10 * 10 ** 9;

export interface HfShard<T extends ShardableTensor = ShardableTensor> {
  readonly fileName: string;
  readonly tensors: readonly T[];
}

/**
 * transformers 4.29 `shard_checkpoint`: walk the state dict in order, start a new shard when the next
 * tensor would take the current one over the limit (a tensor alone over it still gets a shard of
 * its own after the current one), sizes as numel * dtype bytes. One shard is `pytorch_model.bin`
 * with no index; n shards are `pytorch_model-0000i-of-0000n.bin`.
 */
export function shardCheckpoint<T extends ShardableTensor>(tensors: readonly T[], maxShardBytes = MAX_SHARD_BYTES): HfShard<T>[] {
  const blocks: T[][] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const tensor of tensors) {
    const bytes = tensorBytes(tensor);
    if (currentBytes + bytes > maxShardBytes) {
      blocks.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(tensor);
    currentBytes += bytes;
  }
  blocks.push(current);
  if (blocks.length === 1) return [{ fileName: "pytorch_model.bin", tensors: blocks[0]! }];
  const count = String(blocks.length).padStart(5, "0");
  return blocks.map((block, i) => ({ fileName: `pytorch_model-${String(i + 1).padStart(5, "0")}-of-${count}.bin`, tensors: block }));
}

/**
 * pytorch_model.bin.index.json as save_pretrained wrote it: `json.dumps(index, indent=2,
 * sort_keys=True) + "\n"` of {"metadata": {"total_size"}, "weight_map"}; undefined for one shard.
 */
export function shardIndexJson(shards: readonly HfShard[]): string | undefined {
  if (shards.length === 1) return undefined;
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (const shard of shards) {
    for (const tensor of shard.tensors) {
      weightMap[tensor.name] = shard.fileName;
      totalSize += tensorBytes(tensor);
    }
  }
  return `${pythonJsonDumps({ metadata: { total_size: totalSize }, weight_map: weightMap })}\n`;
}
