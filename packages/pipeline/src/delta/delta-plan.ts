import { KNOWN_LLAMA_SIZES, type KnownLlamaSize, type ShardableTensor } from "@model-recover/llama-convert";
import { InputError } from "../errors.js";
import { expectedLlamaTensors, isLlamaConfig, readLlamaDimensions } from "../inspect/llama-shapes.js";
import type { LlamaDimensions } from "../inspect/report.js";
import type { LocatedTensor, WeightFolder } from "./weight-folder.js";

/**
 * The math of a delta release (spec llama-patches.md §4). add-delta: FastChat's apply_delta, `tuned =
 * base + delta` per tensor in float16. add-delta-v0: fschat <= 0.1.10, whose base first gains the
 * [PAD] token: embed_tokens and lm_head grow by one row of zeros, then the same add. weight-diff:
 * Stanford Alpaca's weight_diff.py (and WizardLM's copy), in float32: the base gains [PAD] with rows
 * the mean of its existing rows, then `tuned = raw + diff`, saved in float32.
 */
export type DeltaMath = "add-delta" | "add-delta-v0" | "weight-diff";

/** One tensor of the tuned model: its base and delta tensors, and the zero rows the base gains first. */
export interface DeltaTensor extends ShardableTensor {
  readonly base: LocatedTensor;
  /** Absent only for a rotary inv_freq buffer the delta does not hold (computed, never trained). */
  readonly delta: LocatedTensor | undefined;
  readonly padRows: number;
  /** weight-diff: the added rows are the mean of the base's rows, not zeros; the sum is float32. */
  readonly float32: boolean;
}

export interface DeltaPlan {
  tensors: DeltaTensor[];
  /** "LLaMA-7B", or the shape of another LLaMA. */
  model: string;
  baseVocab: number;
  vocab: number;
}

/** What a recipe says the base must be, to refuse a base of another size by name. */
export interface ExpectedBase {
  size: KnownLlamaSize;
  recipe: string;
}

const EMBEDDINGS = ["model.embed_tokens.weight", "lm_head.weight"];
const isInvFreq = (name: string) => name.endsWith(".rotary_emb.inv_freq");
const shapeText = (shape: readonly number[]) => `[${shape.join(", ")}]`;

/**
 * Every check that needs no weight read (the analogue of the XOR engine's smallest-file probe): the
 * base is a LLaMA in Hugging Face layout whose shapes are those its config implies (and of the size
 * the recipe names), in float16; the delta holds every base tensor, in float16, with the same shape
 * but for the vocabulary rows the math adds. Then the tuned model's tensors in the base's order.
 */
export function planDelta(base: WeightFolder, delta: WeightFolder, math: DeltaMath, expected?: ExpectedBase): DeltaPlan {
  const dims = checkBase(base, expected);
  const baseVocab = base.tensors.get("model.embed_tokens.weight")!.tensor.shape[0]!;
  const padRows = math === "add-delta" ? 0 : 1;
  const float32 = math === "weight-diff";
  const vocab = checkVocab(base, delta, math, baseVocab + padRows, expected);
  const tensors: DeltaTensor[] = [];
  for (const [name, located] of base.tensors) {
    const { tensor } = located;
    const inDelta = delta.tensors.get(name);
    const pad = EMBEDDINGS.includes(name) ? padRows : 0;
    const shape = pad > 0 ? [tensor.shape[0]! + pad, ...tensor.shape.slice(1)] : tensor.shape;
    if (!inDelta) {
      if (isInvFreq(name)) {
        tensors.push({ name, dtype: "F32", shape, base: located, delta: undefined, padRows: 0, float32 });
        continue;
      }
      throw new InputError("DELTA_WRONG", `${delta.dir}: has no tensor ${name}, which the base (${located.file.path}) has; every base tensor must be in the delta (is the download complete, or is it a delta of another model?)`);
    }
    if (shapeText(inDelta.tensor.shape) !== shapeText(shape)) {
      throw new InputError("DELTA_WRONG", `${inDelta.file.path}: ${name} is ${shapeText(inDelta.tensor.shape)}, but the base's is ${shapeText(tensor.shape)}${pad ? ` (${shapeText(shape)} with the [PAD] row)` : ""}; this delta is not of ${describe(dims)}`);
    }
    checkDtype(inDelta, name, "delta", delta.dir, math);
    tensors.push({ name, dtype: float32 ? "F32" : (tensor.dtype as "F16" | "F32"), shape, base: located, delta: inDelta, padRows: pad, float32 });
  }
  for (const { base: b, delta: d } of tensors) for (const located of d ? [b, d] : [b]) refuseStrided(located);
  for (const [name, located] of delta.tensors) {
    if (!base.tensors.has(name) && !isInvFreq(name)) throw new InputError("DELTA_WRONG", `${located.file.path}: holds ${name}, which the base has not; this delta is not of ${describe(dims)} (or the base is not LLaMA converted to Hugging Face format)`);
  }
  return { tensors, model: describe(dims), baseVocab, vocab };
}

/** The base's config, its tensors' shapes against it, the size the recipe wants, float16. */
function checkBase(base: WeightFolder, expected: ExpectedBase | undefined): LlamaDimensions {
  const wrong = (problem: string) => new InputError("BASE_WRONG", `${base.dir}: ${problem}`);
  const want = expected ? `LLaMA-${expected.size.name} converted to Hugging Face format (recipe llama-${expected.size.name.toLowerCase()}-hf)` : "LLaMA converted to Hugging Face format";
  if (!isLlamaConfig(base.config)) throw wrong(`config.json does not describe a LLaMA (model_type ${JSON.stringify(base.config.model_type)}); the base must be ${want}`);
  const read = readLlamaDimensions(base.config);
  if (!read.ok) throw wrong(`config.json: ${read.reasons[0]}; the base must be ${want}`);
  const dims = read.dimensions;
  if (expected && (dims.hidden !== expected.size.dim || dims.layers !== expected.size.nLayers || dims.heads !== expected.size.nHeads)) {
    throw wrong(`is ${describe(dims)}, but ${expected.recipe} is a delta of LLaMA-${expected.size.name} (hidden ${expected.size.dim}, ${expected.size.nLayers} layers); pass ${want}`);
  }
  for (const [name, { shape, optional }] of expectedLlamaTensors(dims)) {
    const found = base.tensors.get(name);
    if (!found) {
      if (optional) continue;
      throw wrong(`has no tensor ${name}, which config.json (${describe(dims)}) implies; the base must be ${want}`);
    }
    if (shapeText(found.tensor.shape) !== shapeText(shape)) throw wrong(`${found.file.path}: ${name} is ${shapeText(found.tensor.shape)}, but config.json (${describe(dims)}) implies ${shapeText(shape)}; the base must be ${want}`);
    checkDtype(found, name, "base", base.dir, "add-delta");
  }
  const expectedNames = expectedLlamaTensors(dims);
  for (const [name, { file }] of base.tensors) if (!expectedNames.has(name)) throw wrong(`${file.path}: holds ${name}, which LlamaForCausalLM has not; the base must be ${want}`);
  return dims;
}

/**
 * The trap of Vicuna v0 (FastChat #486, #551, #1302): a v0 delta has 32001 rows, a v1.1 delta 32000.
 * Each mismatch is named, with the recipe or --vocab that fits the delta.
 */
function checkVocab(base: WeightFolder, delta: WeightFolder, math: DeltaMath, vocab: number, expected: ExpectedBase | undefined): number {
  const embeddings = delta.tensors.get("model.embed_tokens.weight");
  if (!embeddings) throw new InputError("DELTA_WRONG", `${delta.dir}: has no tensor model.embed_tokens.weight; pass the downloaded delta folder of a LLaMA fine-tune`);
  const rows = embeddings.tensor.shape[0]!;
  const baseRows = base.tensors.get("model.embed_tokens.weight")!.tensor.shape[0]!;
  const size = expected?.size.name ?? "13B";
  if (math === "add-delta" && rows === baseRows + 1) {
    throw new InputError("DELTA_VOCAB", `${embeddings.file.path}: the delta has ${rows} tokens (the base's ${baseRows} and [PAD]): a Vicuna v0 or StableVicuna delta, made for fschat <= 0.1.10, and this is the v1.1 math (32000 vs 32001); use recipe vicuna-${size.toLowerCase()}-v0 or stable-vicuna-13b, or apply-delta --vocab pad-token`);
  }
  if (math === "weight-diff" && rows === baseRows) {
    throw new InputError("DELTA_VOCAB", `${embeddings.file.path}: the diff has ${rows} tokens, as many as the base; weight_diff.py's diffs (Alpaca, WizardLM) have the base's and [PAD] (32001 vs 32000): is this an additive delta of FastChat's? use recipe vicuna-${size.toLowerCase()}-v1.1, or apply-delta --vocab same`);
  }
  if (math === "add-delta-v0" && rows === baseRows) {
    throw new InputError("DELTA_VOCAB", `${embeddings.file.path}: the delta has ${rows} tokens, as many as the base: a Vicuna v1.1-style delta, and this is the v0 math that adds [PAD] (32001 vs 32000); use recipe vicuna-${size.toLowerCase()}-v1.1, or apply-delta --vocab same`);
  }
  if (rows !== vocab) throw new InputError("DELTA_WRONG", `${embeddings.file.path}: the delta has ${rows} tokens, the base ${baseRows}; expected ${vocab}: this is not a delta of this base`);
  const declared = delta.config.vocab_size;
  if (declared !== rows) throw new InputError("DELTA_WRONG", `${delta.dir}/config.json: vocab_size is ${JSON.stringify(declared)}, but the delta's embeddings have ${rows} rows; the folder's files are of different models`);
  return rows;
}

/**
 * FastChat loads both models with torch_dtype=float16; weight_diff.py's diffs are float32 (the math is
 * float32); the base is the float16 conversion either way; rotary inv_freq buffers stay float32.
 */
function checkDtype({ file, tensor }: LocatedTensor, name: string, role: "base" | "delta", dir: string, math: DeltaMath): void {
  const want = isInvFreq(name) || math === "weight-diff" ? "F32" : "F16";
  if (tensor.dtype === want) return;
  const code = role === "base" ? "BASE_WRONG" : "DELTA_WRONG";
  const why = math === "weight-diff" ? "the diff of weight_diff.py is float32 (the math is float32)" : `the ${role} of a FastChat delta is float16 (the math is float16)`;
  throw new InputError(code, `${file.path}: ${name} is ${tensor.dtype}, expected ${want}: ${why}; ${role === "delta" ? `${dir} is not the published delta (a ${tensor.dtype} copy would round differently)` : "convert LLaMA with model-recover convert-llama, which writes float16"}`);
}

/** Rows are read by pread from where the tensor starts: a strided view has no such place. */
function refuseStrided({ file, tensor }: LocatedTensor): void {
  if (tensor.offset !== undefined) return;
  throw new InputError("TENSOR_NOT_CONTIGUOUS", `${file.path}: ${tensor.name} is a strided view (shape [${tensor.shape.join(", ")}], stride [${tensor.stride?.join(", ")}]); save the checkpoint again with .contiguous() tensors, as save_pretrained does`);
}

function describe(dims: LlamaDimensions): string {
  const size = KNOWN_LLAMA_SIZES.find((s) => s.dim === dims.hidden && s.nLayers === dims.layers && s.nHeads === dims.heads);
  return size ? `LLaMA-${size.name}` : `a LLaMA of hidden size ${dims.hidden}, ${dims.layers} layers, ${dims.heads} heads`;
}
