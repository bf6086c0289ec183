import { LLAMA_VOCAB_SIZE, type LlamaParams } from "./params.js";
import { pyFloat, type PyJson, pythonJsonDumps } from "./python-json.js";
import { intermediateSize } from "./sizes.js";

/** The transformers commit OpenAssistant pinned (d04ec99b) called itself 4.29.0.dev0. */
export const TRANSFORMERS_VERSION = "4.29.0.dev0";

const dumps = (value: PyJson) => `${pythonJsonDumps(value)}\n`;

/**
 * config.json: PretrainedConfig.to_json_string(use_diff=True), i.e. sorted keys, indent 2, a final
 * newline, of the LlamaConfig the script built (hidden size, intermediate size, heads, layers,
 * rms_norm_eps from params.json; the rest LlamaConfig's defaults) after from_pretrained in float16
 * and save_pretrained (architectures, torch_dtype).
 */
export function configJson(params: LlamaParams): string {
  return dumps({
    architectures: ["LlamaForCausalLM"],
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: "silu",
    hidden_size: params.dim,
    initializer_range: pyFloat(0.02),
    intermediate_size: intermediateSize(params.dim),
    max_position_embeddings: 2048,
    model_type: "llama",
    num_attention_heads: params.nHeads,
    num_hidden_layers: params.nLayers,
    pad_token_id: 0,
    rms_norm_eps: params.normEps,
    tie_word_embeddings: false,
    torch_dtype: "float16",
    transformers_version: TRANSFORMERS_VERSION,
    use_cache: true,
    vocab_size: LLAMA_VOCAB_SIZE,
  });
}

/** generation_config.json: GenerationConfig.from_model_config, written with use_diff. */
export function generationConfigJson(): string {
  return dumps({ _from_model_config: true, bos_token_id: 1, eos_token_id: 2, pad_token_id: 0, transformers_version: TRANSFORMERS_VERSION });
}

const addedToken = (content: string) => ({ content, lstrip: false, normalized: true, rstrip: false, single_word: false });
const typedToken = (content: string) => ({ __type: "AddedToken", ...addedToken(content) });

/**
 * tokenizer_config.json as the script's tokenizer save wrote it at that commit: the slow
 * LlamaTokenizer's init kwargs with AddedToken dicts, model_max_length int(1e30) (VERY_LARGE_INTEGER).
 * It does not depend on the model size.
 */
export function tokenizerConfigJson(): string {
  return dumps({
    add_bos_token: true,
    add_eos_token: false,
    bos_token: typedToken("<s>"),
    clean_up_tokenization_spaces: false,
    eos_token: typedToken("</s>"),
    model_max_length: 1000000000000000019884624838656n,
    pad_token: null,
    sp_model_kwargs: {},
    tokenizer_class: "LlamaTokenizer",
    unk_token: typedToken("<unk>"),
  });
}

/** special_tokens_map.json: the special tokens as AddedToken dicts without the __type field. */
export function specialTokensMapJson(): string {
  return dumps({ bos_token: addedToken("<s>"), eos_token: addedToken("</s>"), unk_token: addedToken("<unk>") });
}
