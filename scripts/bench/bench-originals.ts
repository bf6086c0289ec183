import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { convertGeometry, parseParams, planTensors } from "@model-recover/llama-convert";
import { contiguousStateDict, writeTorchSave } from "@model-recover/torch-format";
import { xorshift32Bytes } from "@model-recover/xor-core";

/** Tensor bytes are slices of this pattern: only the layout matters to a benchmark, and it is cheap. */
const PATTERN = xorshift32Bytes(11, 64 << 20);

export interface BenchOriginals {
  /** The model folder: consolidated.NN.pth, params.json; tokenizer.model is next to it. */
  dir: string;
  files: string[];
  inputBytes: number;
}

/**
 * LLaMA-30B-shaped originals (dim 6656, 52 heads, 4 files, the published tensor names and order)
 * with `layers` layers, written by torch-format's torch.save writer: the same files torch 1.13.1
 * would write, made in seconds without holding a tensor in memory. Reused when already there.
 */
export async function benchOriginals(root: string, layers: number): Promise<BenchOriginals> {
  const dir = join(root, `30B-shaped-${layers}-layers`);
  const params = `{"dim": 6656, "multiple_of": 256, "n_heads": 52, "n_layers": ${layers}, "norm_eps": 1e-06, "vocab_size": -1}`;
  const geometry = convertGeometry(parseParams(params, "params.json"), 4, dir);
  const files = Array.from({ length: 4 }, (_, i) => join(dir, `consolidated.0${i}.pth`));
  const originals = new Map<string, readonly number[]>();
  for (const tensor of planTensors(geometry)) if (tensor.source.kind !== "rotary-inv-freq") originals.set(tensor.source.original, tensor.originalShape!);
  const spec = contiguousStateDict([...originals].map(([name, shape]) => ({ name, dtype: "F16" as const, shape })));
  const inputBytes = 4 * spec.storages.reduce((sum, s) => sum + s.numel * 2, 0);
  if ((await readFile(join(dir, "params.json"), "utf8").catch(() => "")) === params) return { dir, files, inputBytes };
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const file of files) await writeTorchSave(file, spec, (index) => slices(spec.storages[index]!.numel * 2));
  await writeFile(join(root, "tokenizer.model"), PATTERN.subarray(0, 499_723));
  await writeFile(join(dir, "params.json"), params);
  return { dir, files, inputBytes };
}

async function* slices(bytes: number): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes; at += PATTERN.length) yield PATTERN.subarray(0, Math.min(PATTERN.length, bytes - at));
}
