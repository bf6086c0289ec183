import { safetensorsFileName } from "@model-recover/torch-format";
import { asciiJson } from "../ascii-json.js";

export const SAFETENSORS_INDEX = "model.safetensors.index.json";

/**
 * model.safetensors.index.json as convert.py's `convert_multi` writes it (huggingface/safetensors
 * bindings/python/convert.py; spec llama-patches.md §1): the .bin index copied key by key, its
 * `metadata` (so `total_size`) kept, each `weight_map` entry renamed in place by `rename`, dumped with
 * `json.dump(newdata, f, indent=4)`: four spaces, ASCII, no newline at the end.
 */
export function safetensorsIndexJson(binIndex: Record<string, unknown>): string {
  const weightMap = binIndex.weight_map as Record<string, string>;
  const renamed = Object.fromEntries(Object.entries(weightMap).map(([name, shard]) => [name, safetensorsFileName(shard)]));
  return asciiJson({ ...binIndex, weight_map: renamed }, 4);
}
