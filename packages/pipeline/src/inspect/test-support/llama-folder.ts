import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { contiguousStateDict, type Dtype, dtypeBytes, type StateDictSpec, writeTorchSave } from "@model-recover/torch-format";

/** A LLaMA small enough to write in milliseconds, with every dimension distinct so a swap shows. */
export const TINY = { hidden: 16, intermediate: 44, layers: 2, heads: 4, vocab: 32 };
export type TinyDimensions = typeof TINY;

export interface TensorEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
}

/** LlamaForCausalLM.state_dict() names and shapes, in its order. */
export function llamaTensors(d: TinyDimensions = TINY): TensorEntry[] {
  const f16 = (name: string, shape: number[]): TensorEntry => ({ name, dtype: "F16", shape });
  const tensors = [f16("model.embed_tokens.weight", [d.vocab, d.hidden])];
  for (let layer = 0; layer < d.layers; layer++) {
    const p = `model.layers.${layer}.`;
    for (const proj of ["q", "k", "v", "o"]) tensors.push(f16(`${p}self_attn.${proj}_proj.weight`, [d.hidden, d.hidden]));
    tensors.push(f16(`${p}mlp.gate_proj.weight`, [d.intermediate, d.hidden]), f16(`${p}mlp.down_proj.weight`, [d.hidden, d.intermediate]), f16(`${p}mlp.up_proj.weight`, [d.intermediate, d.hidden]));
    tensors.push(f16(`${p}input_layernorm.weight`, [d.hidden]), f16(`${p}post_attention_layernorm.weight`, [d.hidden]));
  }
  tensors.push(f16("model.norm.weight", [d.hidden]), f16("lm_head.weight", [d.vocab, d.hidden]));
  return tensors;
}

export function llamaConfig(d: TinyDimensions = TINY, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { architectures: ["LlamaForCausalLM"], hidden_size: d.hidden, intermediate_size: d.intermediate, model_type: "llama", num_attention_heads: d.heads, num_hidden_layers: d.layers, tie_word_embeddings: false, torch_dtype: "float16", vocab_size: d.vocab, ...extra };
}

/** Bytes from a seed (mulberry32), so every fixture is the same on every run. */
async function* seededBytes(seed: number, length: number): AsyncIterable<Uint8Array> {
  let state = seed >>> 0;
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    bytes[i] = (t ^ (t >>> 14)) & 0xff;
  }
  yield bytes;
}

/** A torch.save file (byte for byte what torch 1.13.1 writes) of `spec`, its storages filled from `seed`. */
export async function writeCheckpoint(path: string, spec: StateDictSpec, seed: number): Promise<void> {
  await writeTorchSave(path, spec, (i) => seededBytes(seed * 1000 + i, spec.storages[i]!.numel * dtypeBytes(spec.storages[i]!.dtype)));
}

/** lm_head.weight as the very same view of model.embed_tokens.weight's storage: a tied checkpoint. */
export function tiedStateDict(tensors: TensorEntry[]): StateDictSpec {
  const untied = contiguousStateDict(tensors.filter((t) => t.name !== "lm_head.weight"));
  const embed = untied.tensors.find((t) => t.name === "model.embed_tokens.weight")!;
  return { storages: untied.storages, tensors: [...untied.tensors, { ...embed, name: "lm_head.weight" }] };
}

/**
 * A model folder as save_pretrained writes it: config.json, `shards` pytorch_model-0000k-of-0000n.bin
 * files splitting the state dict in order, and pytorch_model.bin.index.json (or pytorch_model.bin
 * alone for one shard). Returns the index as written.
 */
export async function writeLlamaFolder(dir: string, options: { seed: number; shards?: number; dims?: TinyDimensions }): Promise<{ weightMap: Record<string, string>; totalSize: number }> {
  const { seed, shards = 2, dims = TINY } = options;
  const tensors = llamaTensors(dims);
  await writeFile(join(dir, "config.json"), `${JSON.stringify(llamaConfig(dims), null, 2)}\n`);
  const weightMap: Record<string, string> = {};
  const perShard = Math.ceil(tensors.length / shards);
  for (let k = 0; k < shards; k++) {
    const name = shards === 1 ? "pytorch_model.bin" : `pytorch_model-${String(k + 1).padStart(5, "0")}-of-${String(shards).padStart(5, "0")}.bin`;
    const part = tensors.slice(k * perShard, (k + 1) * perShard);
    for (const t of part) weightMap[t.name] = name;
    await writeCheckpoint(join(dir, name), contiguousStateDict(part), seed + k);
  }
  const totalSize = tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * 2, 0);
  if (shards > 1) await writeIndex(dir, "pytorch_model.bin.index.json", { metadata: { total_size: totalSize }, weight_map: weightMap });
  return { weightMap, totalSize };
}

export async function writeIndex(dir: string, name: string, index: unknown): Promise<void> {
  await writeFile(join(dir, name), `${JSON.stringify(index, null, 2)}\n`);
}
