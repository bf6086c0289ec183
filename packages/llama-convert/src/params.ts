import { ConvertError } from "./errors.js";
import { pyFloat, type PyFloat } from "./python-json.js";

/**
 * params.json of an original LLaMA checkpoint, e.g. 30B's
 * `{"dim": 6656, "multiple_of": 256, "n_heads": 52, "n_layers": 60, "norm_eps": 1e-06, "vocab_size": -1}`.
 */
export interface LlamaParams {
  readonly dim: number;
  readonly nHeads: number;
  readonly nLayers: number;
  /** As Python's json read it: a float, or an int if written without "." or exponent. */
  readonly normEps: number | PyFloat;
  readonly multipleOf: number;
  readonly vocabSize: number;
}

/** LlamaConfig's default vocabulary; the 2023 script never passed vocab_size (params.json says -1). */
export const LLAMA_VOCAB_SIZE = 32000;

export function parseParams(text: string, path: string): LlamaParams {
  const fail = (message: string): never => {
    throw new ConvertError("PARAMS_INVALID", path, `${path}: ${message}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return fail(`not JSON (${(error as Error).message}); expected params.json of an original LLaMA checkpoint`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return fail("expected a JSON object like {\"dim\": 6656, \"n_heads\": 52, ...}");
  const fields = raw as Record<string, unknown>;
  const int = (key: string, min: number): number => {
    const value = fields[key];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || !isIntToken(text, key)) return fail(`"${key}" must be an integer, found ${JSON.stringify(value)}`);
    if (value < min) return fail(`"${key}" must be at least ${min}, found ${value}`);
    return value;
  };
  const dim = int("dim", 1);
  const nHeads = int("n_heads", 1);
  const nLayers = int("n_layers", 1);
  const multipleOf = int("multiple_of", 1);
  const vocabSize = int("vocab_size", -1);
  const eps = fields.norm_eps;
  if (typeof eps !== "number" || !(eps > 0)) return fail(`"norm_eps" must be a positive number, found ${JSON.stringify(eps)}`);
  if (dim % nHeads !== 0 || (dim / nHeads) % 2 !== 0) return fail(`"dim" ${dim} must split into ${nHeads} heads of an even size (the rotary permutation pairs rows)`);
  if (vocabSize !== -1 && vocabSize !== LLAMA_VOCAB_SIZE) {
    return fail(`"vocab_size" ${vocabSize}: the 2023 converter always wrote vocab_size ${LLAMA_VOCAB_SIZE} into config.json, so only -1 or ${LLAMA_VOCAB_SIZE} convert as it did`);
  }
  const normEps = isIntToken(text, "norm_eps") ? eps : pyFloat(eps);
  return { dim, nHeads, nLayers, normEps, multipleOf, vocabSize };
}

/** Whether the last `"key": <number>` in the text is written as an int (Python's json makes it an int). */
function isIntToken(text: string, key: string): boolean {
  const tokens = [...text.matchAll(new RegExp(`"${key}"\\s*:\\s*(-?[0-9][0-9.eE+-]*)`, "g"))];
  const token = tokens.at(-1)?.[1] ?? "";
  return /^-?[0-9]+$/.test(token);
}
