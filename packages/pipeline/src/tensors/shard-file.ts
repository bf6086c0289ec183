import { type HfShard, pythonJsonDumps, type ShardableTensor, shardIndexJson, tensorBytes } from "@model-recover/llama-convert";
import { contiguousStateDict, planNewSafetensors, planTorchSave, type PositionalWrite, safetensorsFileName, writeTorchSaveTo } from "@model-recover/torch-format";

/** How weights are written: `.bin` as torch 1.13.1's torch.save, or safetensors as convert.py writes them. */
export type ShardFormat = "bin" | "safetensors";

/** The bytes of one tensor in C order, in chunks of any size. */
export type TensorBytes<T> = (tensor: T) => AsyncIterable<Uint8Array>;

/** A shard's file name in `format`, from save_pretrained's .bin name (convert.py's rename for safetensors). */
export function shardFileName(shard: HfShard, format: ShardFormat): string {
  return format === "bin" ? shard.fileName : safetensorsFileName(shard.fileName);
}

/** The exact size the shard's file will have, known before a byte is written. */
export function shardFileBytes(shard: HfShard, format: ShardFormat): number {
  if (format === "bin") return planTorchSave(shard.fileName, contiguousStateDict(shard.tensors)).layout.totalBytes;
  return planNewSafetensors(shard.tensors, shardFileName(shard, format)).fileBytes;
}

/**
 * Writes the shard's file front to back through `write`: a .bin as torch.save lays it out (storages
 * in the order the file holds them), a safetensors file header first, then each tensor in the order
 * of its data offsets. `bytesOf` is asked for each tensor once.
 */
export async function writeShardFile<T extends ShardableTensor>(shard: HfShard<T>, format: ShardFormat, bytesOf: TensorBytes<T>, write: PositionalWrite): Promise<void> {
  const name = shardFileName(shard, format);
  if (format === "bin") {
    await writeTorchSaveTo(write, name, contiguousStateDict(shard.tensors), (index) => bytesOf(shard.tensors[index]!), { storageOrder: "file" });
    return;
  }
  const plan = planNewSafetensors(shard.tensors, name);
  const byName = new Map(shard.tensors.map((t) => [t.name, t]));
  await write(plan.header, 0);
  for (const planned of plan.tensors) {
    const tensor = byName.get(planned.name)!;
    const [start, end] = planned.dataOffsets.map((offset) => plan.header.length + offset) as [number, number];
    let at = start;
    for await (const chunk of bytesOf(tensor)) {
      at += chunk.length;
      if (at > end) break;
      await write(chunk, at - chunk.length);
    }
    if (at !== end) throw new Error(`${name}: tensor ${tensor.name} should be ${tensorBytes(tensor)} bytes but its source gave ${at > end ? "more" : at - start}; the plan and the tensor bytes disagree`);
  }
}

/**
 * The index of a sharded checkpoint, undefined for a single file: save_pretrained's
 * pytorch_model.bin.index.json, or model.safetensors.index.json as convert.py's convert_multi
 * writes it (the .bin index with each shard renamed, `json.dump(indent=4)`, no final newline; the
 * .bin index was written with sorted keys, which json.load keeps).
 */
export function hfIndexFile(shards: readonly HfShard[], format: ShardFormat): { name: string; text: string } | undefined {
  const binIndex = shardIndexJson(shards);
  if (binIndex === undefined) return undefined;
  if (format === "bin") return { name: "pytorch_model.bin.index.json", text: binIndex };
  const index = JSON.parse(binIndex) as { metadata: { total_size: number }; weight_map: Record<string, string> };
  const weightMap = Object.fromEntries(Object.entries(index.weight_map).map(([name, file]) => [name, safetensorsFileName(file)]));
  return { name: "model.safetensors.index.json", text: pythonJsonDumps({ metadata: index.metadata, weight_map: weightMap }, { indent: 4 }) };
}
