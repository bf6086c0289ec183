import { compareNames } from "../safetensors/name-order.js";
import type { SafetensorsConversion } from "./conversion.js";

/**
 * convert.py's `rename`: the extension becomes `.safetensors` and "pytorch_model" becomes "model",
 * so `pytorch_model-00001-of-00003.bin` -> `model-00001-of-00003.safetensors`.
 */
export function safetensorsFileName(binName: string): string {
  const firstNonDot = binName.search(/[^.]/);
  const dot = binName.lastIndexOf(".");
  const stem = firstNonDot >= 0 && dot > firstNonDot ? binName.slice(0, dot) : binName;
  return `${stem}.safetensors`.replaceAll("pytorch_model", "model");
}

/**
 * One shard's `weight_map` entries for model.safetensors.index.json, sorted by name as transformers
 * sorts its index: every name the .bin held, dropped names included, since convert.py's
 * `convert_multi` renames the .bin index's map entry by entry and keeps its `metadata` (so
 * `total_size` stays the .bin index's; a shard's `dataBytes` is its share of it when no storage is
 * shared across shards).
 */
export function weightMapEntries(conversion: SafetensorsConversion, safetensorsName: string): [string, string][] {
  const names = [...conversion.tensors.map((t) => t.name), ...Object.keys(conversion.droppedNames)];
  return names.sort(compareNames).map((name) => [name, safetensorsName]);
}
