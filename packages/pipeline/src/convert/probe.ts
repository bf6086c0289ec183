import { type ConvertGeometry, KNOWN_LLAMA_SIZES, LLAMA_VOCAB_SIZE, type PlannedTensor } from "@model-recover/llama-convert";
import { InputError } from "../errors.js";
import type { StoredTensor, TensorFile } from "../tensors/tensor-file.js";

/**
 * The fast wrong-file probe (the analogue of decrypting a release's smallest file): every original
 * tensor the conversion reads is looked up in the pickles, which cost milliseconds, and must have
 * the dtype and shape params.json implies for its shard. A shard of another size, a params.json that
 * lies, a truncated or foreign checkpoint: all stop here, before any weight is read.
 */
export function checkOriginalShapes(files: readonly TensorFile[], plan: readonly PlannedTensor[], geometry: ConvertGeometry, paramsPath: string): number {
  let checked = 0;
  for (const tensor of plan) {
    if (tensor.source.kind === "rotary-inv-freq") continue;
    const name = tensor.source.original;
    const want = tensor.originalShape!;
    // The norms are read from shard 0 only, as the 2023 script did.
    const shards = tensor.source.kind === "first-shard" ? files.slice(0, 1) : files;
    for (const file of shards) {
      const found = file.tensor(name);
      const implies = `params.json (${describeParams(geometry)}, ${paramsPath})`;
      if (!found) throw wrong(file, `has no tensor ${name}, which ${implies} needs${originOf(file)}`);
      if (found.dtype !== "F16") throw wrong(file, `${name} is ${found.dtype}; the original checkpoints are float16 (F16)`);
      if (!sameShape(found.shape, want)) throw wrong(file, `${name} is [${found.shape.join(", ")}], but ${implies} implies [${want.join(", ")}] in each of its ${geometry.shards} file(s)${originOf(file)}`);
      if (found.offset === undefined) throw new InputError("TENSOR_NOT_CONTIGUOUS", `${file.path}: ${name} is a strided view (stride [${found.stride?.join(", ")}]); the original checkpoints hold contiguous tensors`);
      checked++;
    }
  }
  return checked;
}

export function describeParams({ params, shards }: ConvertGeometry): string {
  return `dim ${params.dim}, ${params.nHeads} heads, ${params.nLayers} layers, ${shards} shard${shards > 1 ? "s" : ""}`;
}

const wrong = (file: TensorFile, problem: string) => new InputError("ORIGINALS_WRONG", `${file.path}: ${problem}`);

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((dim, i) => dim === b[i]);

/**
 * What the file is a shard of, read from its own embeddings ([vocab, dim/shards]) and output
 * ([vocab/shards, dim]): "; it looks like one of 2 shards of LLaMA-13B".
 */
function originOf(file: TensorFile): string {
  const embeddings: StoredTensor | undefined = file.tensor("tok_embeddings.weight");
  const output = file.tensor("output.weight");
  if (embeddings?.shape.length !== 2 || output?.shape.length !== 2) return "";
  const dim = output.shape[1]!;
  const shards = LLAMA_VOCAB_SIZE / output.shape[0]!;
  if (!Number.isInteger(shards) || embeddings.shape[1]! * shards !== dim) return "";
  const size = KNOWN_LLAMA_SIZES.find((s) => s.dim === dim && s.shards === shards);
  const model = size ? `LLaMA-${size.name}` : `a model of dim ${dim}`;
  return `; it looks like one of ${shards} shard${shards > 1 ? "s" : ""} of ${model}`;
}
