import { describeJsonType, isJsonObject, type JsonObject } from "./json-file.js";
import { checkPlainFileName } from "./safe-name.js";

/** What an index.json's `weight_map` (tensor name → shard file) names. */
export interface WeightMapShards {
  /** Distinct shard names that are safe to look up in the folder, sorted. */
  shards: string[];
  /** Each reads after the index file's name: `pytorch_model.bin.index.json maps "x" to ...`. */
  reasons: string[];
}

export function readWeightMap(index: JsonObject): WeightMapShards {
  const weightMap = index["weight_map"];
  if (!isJsonObject(weightMap)) {
    return { shards: [], reasons: [`has no object "weight_map" (found ${describeJsonType(weightMap)})`] };
  }
  const entries = Object.entries(weightMap);
  if (entries.length === 0) return { shards: [], reasons: [`has an empty "weight_map"; it names no shard`] };

  const shards = new Set<string>();
  // Keyed by the bad value: a shard name repeats for hundreds of tensors but is one problem.
  const reasons = new Map<string, string>();
  for (const [tensor, shard] of entries) {
    if (typeof shard !== "string") {
      const key = `type:${describeJsonType(shard)}`;
      if (!reasons.has(key)) {
        reasons.set(key, `maps ${JSON.stringify(tensor)} to ${describeJsonType(shard)}, not a shard file name`);
      }
      continue;
    }
    const safe = checkPlainFileName(shard);
    if (safe.ok) shards.add(shard);
    else if (!reasons.has(shard)) {
      reasons.set(shard, `maps ${JSON.stringify(tensor)} to ${JSON.stringify(shard)}, which ${safe.reason}`);
    }
  }
  return { shards: [...shards].sort(), reasons: [...reasons.values()] };
}
