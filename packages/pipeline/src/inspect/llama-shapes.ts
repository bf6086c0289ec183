import type { LlamaDimensions } from "./report.js";

/** More layers than any LLaMA has (405B: 126); also bounds the names a hostile config can make us list. */
const MAX_LAYERS = 1000;

export type ConfigReading = { ok: true; dimensions: LlamaDimensions } | { ok: false; reasons: string[] };

/**
 * The dimensions a LLaMA config.json gives (transformers' LlamaConfig): each must be a whole number
 * above zero; heads must divide the hidden size unless head_dim says otherwise, and key/value heads
 * the heads. `reasons` read after "config.json: ".
 */
export function readLlamaDimensions(config: Record<string, unknown>): ConfigReading {
  const reasons: string[] = [];
  const whole = (key: string, fallback?: number): number => {
    const value = config[key] ?? fallback;
    if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return value;
    reasons.push(`${key} is ${value === undefined ? "missing" : JSON.stringify(value)}, expected a whole number above 0`);
    return 1;
  };
  const hidden = whole("hidden_size");
  const intermediate = whole("intermediate_size");
  const layers = whole("num_hidden_layers");
  const heads = whole("num_attention_heads");
  const kvHeads = whole("num_key_value_heads", heads);
  const vocab = whole("vocab_size");
  const headDim = config.head_dim === undefined || config.head_dim === null ? hidden / heads : whole("head_dim");
  if (layers > MAX_LAYERS) reasons.push(`num_hidden_layers is ${layers}; no LLaMA has more than ${MAX_LAYERS}`);
  if (!Number.isInteger(headDim)) reasons.push(`hidden_size ${hidden} does not split into ${heads} attention heads`);
  if (heads % kvHeads !== 0) reasons.push(`num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  if (reasons.length > 0) return { ok: false, reasons };
  const architectures = Array.isArray(config.architectures) ? config.architectures.filter((a): a is string => typeof a === "string") : [];
  const modelType = typeof config.model_type === "string" ? config.model_type : "";
  return { ok: true, dimensions: { modelType, architectures, hidden, intermediate, layers, heads, kvHeads, headDim, vocab, tiedEmbeddings: config.tie_word_embeddings === true } };
}

export interface ExpectedTensor {
  shape: number[];
  /** Absent without a problem: lm_head when embeddings are tied, the rotary buffers of newer transformers. */
  optional: boolean;
}

/**
 * Every tensor LlamaForCausalLM saves and the shape the config implies (transformers
 * modeling_llama.py; spec llama-patches.md §3). Also the per-layer `rotary_emb.inv_freq` buffer that
 * transformers < 4.31 saved (head_dim / 2 floats), allowed but not required.
 */
export function expectedLlamaTensors(d: LlamaDimensions): Map<string, ExpectedTensor> {
  const expected = new Map<string, ExpectedTensor>();
  const add = (name: string, shape: number[], optional = false) => expected.set(name, { shape, optional });
  const attention = d.heads * d.headDim;
  const keyValue = d.kvHeads * d.headDim;
  add("model.embed_tokens.weight", [d.vocab, d.hidden]);
  for (let layer = 0; layer < d.layers; layer++) {
    const prefix = `model.layers.${layer}.`;
    add(`${prefix}self_attn.q_proj.weight`, [attention, d.hidden]);
    add(`${prefix}self_attn.k_proj.weight`, [keyValue, d.hidden]);
    add(`${prefix}self_attn.v_proj.weight`, [keyValue, d.hidden]);
    add(`${prefix}self_attn.o_proj.weight`, [d.hidden, attention]);
    add(`${prefix}self_attn.rotary_emb.inv_freq`, [d.headDim / 2], true);
    add(`${prefix}mlp.gate_proj.weight`, [d.intermediate, d.hidden]);
    add(`${prefix}mlp.up_proj.weight`, [d.intermediate, d.hidden]);
    add(`${prefix}mlp.down_proj.weight`, [d.hidden, d.intermediate]);
    add(`${prefix}input_layernorm.weight`, [d.hidden]);
    add(`${prefix}post_attention_layernorm.weight`, [d.hidden]);
  }
  add("model.norm.weight", [d.hidden]);
  add("lm_head.weight", [d.vocab, d.hidden], d.tiedEmbeddings);
  return expected;
}

/** Whether config.json describes a LLaMA (model_type, or an architecture such as LlamaForCausalLM), whose shapes are the ones checked here. */
export function isLlamaConfig(config: Record<string, unknown>): boolean {
  return config.model_type === "llama" || (Array.isArray(config.architectures) && config.architectures.some((a) => typeof a === "string" && a.startsWith("Llama")));
}
