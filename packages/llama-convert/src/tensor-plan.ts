import { ConvertError } from "./errors.js";
import { LLAMA_VOCAB_SIZE, type LlamaParams } from "./params.js";
import { intermediateSize } from "./sizes.js";

/**
 * How one HF tensor is made from the original shards consolidated.00.pth ... (convert_llama_weights_to_hf.py
 * at transformers d04ec99, write_model):
 * - "stack-rows": the shards' tensors one under the other (torch.cat dim 0); wq and wk also get the
 *   rotary permutation `w.view(n_heads, head_dim/2, 2, dim).transpose(1, 2).reshape(dim, dim)` after the
 *   merge (per head: rows 0,2,4,... then 1,3,5,...); heads never straddle shards.
 * - "join-columns": each row is the shards' rows side by side (torch.cat dim 1).
 * - "first-shard": shard 0's copy (the norms, the same in every shard).
 * - "rotary-inv-freq": computed, not read (see inv-freq.ts).
 */
export type TensorSource =
  | { readonly kind: "stack-rows"; readonly original: string; readonly rotary: boolean }
  | { readonly kind: "join-columns"; readonly original: string }
  | { readonly kind: "first-shard"; readonly original: string }
  | { readonly kind: "rotary-inv-freq" };

/** What sharding and the index need of a tensor: any checkpoint's tensors, not only planned ones. */
export interface ShardableTensor {
  readonly name: string;
  readonly dtype: "F16" | "F32";
  readonly shape: readonly number[];
}

export interface PlannedTensor extends ShardableTensor {
  readonly source: TensorSource;
  /** Shape of the original tensor in each shard (absent for computed tensors), to check the reader against. */
  readonly originalShape?: readonly number[];
}

/** The model's dimensions as the conversion sees them. */
export interface ConvertGeometry {
  readonly params: LlamaParams;
  readonly shards: number;
  readonly vocab: number;
  readonly intermediate: number;
  readonly headDim: number;
}

export function convertGeometry(params: LlamaParams, shards: number, path: string): ConvertGeometry {
  const intermediate = intermediateSize(params.dim);
  const geometry = { params, shards, vocab: LLAMA_VOCAB_SIZE, intermediate, headDim: params.dim / params.nHeads };
  const fail = (why: string): never => {
    throw new ConvertError("SHARDS_INVALID", path, `${path}: ${shards} original shards: ${why}`);
  };
  if (!Number.isSafeInteger(shards) || shards < 1) fail("expected a whole number of consolidated.NN.pth files, at least 1");
  const parts: [string, number][] = [["n_heads", params.nHeads], ["dim", params.dim], ["the intermediate size", intermediate], ["the vocabulary", LLAMA_VOCAB_SIZE]];
  for (const [what, size] of parts) if (size % shards !== 0) fail(`${what} (${size}) does not split evenly into them`);
  return geometry;
}

/**
 * Every tensor of the HF checkpoint in `LlamaForCausalLM.state_dict()` order (the order
 * save_pretrained shards in): embed_tokens; per layer q, k, v, o, rotary_emb.inv_freq, gate, down, up,
 * input_layernorm, post_attention_layernorm; model.norm; lm_head.
 */
export function planTensors(geometry: ConvertGeometry): PlannedTensor[] {
  const { dim } = geometry.params;
  const { shards, vocab, intermediate, headDim } = geometry;
  const f16 = (name: string, shape: number[], source: TensorSource, originalShape: number[]): PlannedTensor => ({ name, dtype: "F16", shape, source, originalShape });
  const stack = (original: string, rows: number, cols: number, rotary = false) => f16("", [rows, cols], { kind: "stack-rows", original, rotary }, [rows / shards, cols]);
  const join = (original: string, rows: number, cols: number) => f16("", [rows, cols], { kind: "join-columns", original }, [rows, cols / shards]);
  const norm = (original: string) => f16("", [dim], { kind: "first-shard", original }, [dim]);
  const named = (name: string, tensor: PlannedTensor): PlannedTensor => ({ ...tensor, name });

  const plan = [named("model.embed_tokens.weight", join("tok_embeddings.weight", vocab, dim))];
  for (let layer = 0; layer < geometry.params.nLayers; layer++) {
    const hf = `model.layers.${layer}.`;
    const original = `layers.${layer}.`;
    plan.push(
      named(`${hf}self_attn.q_proj.weight`, stack(`${original}attention.wq.weight`, dim, dim, true)),
      named(`${hf}self_attn.k_proj.weight`, stack(`${original}attention.wk.weight`, dim, dim, true)),
      named(`${hf}self_attn.v_proj.weight`, stack(`${original}attention.wv.weight`, dim, dim)),
      named(`${hf}self_attn.o_proj.weight`, join(`${original}attention.wo.weight`, dim, dim)),
      { name: `${hf}self_attn.rotary_emb.inv_freq`, dtype: "F32", shape: [headDim / 2], source: { kind: "rotary-inv-freq" } },
      named(`${hf}mlp.gate_proj.weight`, stack(`${original}feed_forward.w1.weight`, intermediate, dim)),
      named(`${hf}mlp.down_proj.weight`, join(`${original}feed_forward.w2.weight`, dim, intermediate)),
      named(`${hf}mlp.up_proj.weight`, stack(`${original}feed_forward.w3.weight`, intermediate, dim)),
      named(`${hf}input_layernorm.weight`, norm(`${original}attention_norm.weight`)),
      named(`${hf}post_attention_layernorm.weight`, norm(`${original}ffn_norm.weight`)),
    );
  }
  plan.push(named("model.norm.weight", norm("norm.weight")), named("lm_head.weight", stack("output.weight", vocab, dim)));
  return plan;
}

export function tensorBytes(tensor: ShardableTensor): number {
  return tensor.shape.reduce((a, b) => a * b, 1) * (tensor.dtype === "F16" ? 2 : 4);
}
