import { createHash } from "node:crypto";
import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encFileName } from "@model-recover/hf-layout";
import { contiguousStateDict, writeTorchSave } from "@model-recover/torch-format";
import { ENC_HEADER_BYTES, KeyFile, Keystream, RewindingKey, xorshift32Bytes } from "@model-recover/xor-core";
import type { Recipe, RecipeFile } from "@model-recover/pipeline";

/** The card's shard sizes for BELLE-LLaMA-13B-2M (GB), kept in proportion. */
const SHARD_SHARES = [9.95, 9.9, 6.18];
const PIECE_BYTES = 64 * 1024 * 1024;

export interface BenchRelease {
  dir: string;
  encDir: string;
  basePath: string;
  recipePath: string;
  recipe: Recipe;
}

/**
 * A release shaped like BELLE-LLaMA-13B-2M at `totalBytes`, against a key half that size, written
 * straight as `.enc` files (the plaintext is generated, hashed and encrypted in one pass and never
 * stored). Reused from `dir` when a previous run made the same one.
 */
export async function benchRelease(dir: string, totalBytes: number): Promise<BenchRelease> {
  const encDir = join(dir, "release");
  const basePath = join(dir, "consolidated.00.pth");
  // v2: the shards are real torch.save checkpoints, so that --to safetensors has something to convert.
  const recipePath = join(dir, "bench-v2.recipe.json");
  const cached = await readFile(recipePath, "utf8").catch(() => undefined);
  if (cached) return { dir, encDir, basePath, recipePath, recipe: JSON.parse(cached) as Recipe };

  await rm(dir, { recursive: true, force: true });
  await mkdir(encDir, { recursive: true });
  await writeGenerated(basePath, 1, Math.floor(totalBytes / 2));
  const key = await KeyFile.open(basePath);
  const files: RecipeFile[] = [];
  const shardBytes = totalBytes - 600_000;
  const weightMap: Record<string, string> = {};
  const shards: [string, string][] = [];
  for (const [i, share] of SHARD_SHARES.entries()) {
    const name = `pytorch_model-0000${i + 1}-of-00003.bin`;
    const plainPath = join(dir, `${name}.plain`);
    for (const tensor of await writeShardCheckpoint(plainPath, Math.round((shardBytes * share) / 26.03), i)) weightMap[tensor] = name;
    shards.push([name, plainPath]);
  }
  const json = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  // The folder check reads config.json and index.json, so those are real JSON; the rest is noise.
  const small: [string, Uint8Array | number][] = [
    ["config.json", json({ architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: 5120, intermediate_size: 13824, num_hidden_layers: 40, num_attention_heads: 40, vocab_size: 32000 })],
    ["generation_config.json", json({ bos_token_id: 1, eos_token_id: 2, pad_token_id: 0 })],
    ["pytorch_model.bin.index.json", json({ metadata: { total_size: Object.keys(weightMap).length * 5120 * 5120 * 2 }, weight_map: weightMap })],
    ["special_tokens_map.json", json({})],
    ["tokenizer_config.json", json({ tokenizer_class: "LlamaTokenizer" })],
    ["tokenizer.model", 499_723],
  ];
  let seed = 100;
  for (const [name, content] of small) files.push(await writeEncrypted(encDir, name, content, seed++, key));
  for (const [name, plainPath] of shards) {
    files.push(await writeEncrypted(encDir, name, plainPath, seed++, key));
    await rm(plainPath);
  }
  await key.close();
  const recipe: Recipe = {
    name: "bench",
    title: `bench release (${(totalBytes / 1e9).toFixed(1)} GB, BELLE-13B shape)`,
    pipeline: "xor-enc",
    base: { title: "bench key", fileName: "consolidated.00.pth", md5: null, sha256: null },
    files: files.sort((a, b) => a.name.localeCompare(b.name)),
  };
  await writeFile(recipePath, `${JSON.stringify(recipe, null, 2)}\n`);
  return { dir, encDir, basePath, recipePath, recipe };
}

async function writeGenerated(path: string, seed: number, size: number): Promise<void> {
  const handle = await open(path, "w");
  for (let done = 0, piece = 0; done < size; done += PIECE_BYTES, piece++) {
    await handle.write(xorshift32Bytes(seed * 1_000_003 + piece, Math.min(PIECE_BYTES, size - done)), 0, undefined, done);
  }
  await handle.close();
}

/**
 * A shard that is a real torch.save checkpoint of about `bytes`: 5120 × 5120 fp16 weights (a 13B
 * layer's square) of generated noise, written by torch-format's writer (byte for byte torch's).
 */
async function writeShardCheckpoint(path: string, bytes: number, shard: number): Promise<string[]> {
  const tensorBytes = 5120 * 5120 * 2;
  const count = Math.max(1, Math.round(bytes / tensorBytes));
  const tensors = Array.from({ length: count }, (_, i) => ({ name: `model.layers.${shard}.w${i}.weight`, dtype: "F16" as const, shape: [5120, 5120] }));
  await writeTorchSave(path, contiguousStateDict(tensors), async function* (index) {
    for (let done = 0, piece = 0; done < tensorBytes; done += PIECE_BYTES, piece++) yield xorshift32Bytes((shard * 1000 + index) * 1_000_003 + piece, Math.min(PIECE_BYTES, tensorBytes - done));
  });
  return tensors.map((t) => t.name);
}

/** Generate (or read back), hash, encrypt and write one file (spec §1), header last since it needs the whole plaintext. */
async function writeEncrypted(encDir: string, name: string, content: Uint8Array | number | string, seed: number, key: KeyFile): Promise<RecipeFile> {
  const plainFile = typeof content === "string" ? await open(content, "r") : undefined;
  const size = plainFile ? (await plainFile.stat()).size : typeof content === "number" ? content : (content as Uint8Array).length;
  const sha256 = createHash("sha256");
  const md5 = createHash("md5");
  const keystream = new Keystream(new RewindingKey(key));
  const temp = join(encDir, `${name}.partial`);
  const handle = await open(temp, "w");
  for (let done = 0, piece = 0; done < size; done += PIECE_BYTES, piece++) {
    const length = Math.min(PIECE_BYTES, size - done);
    const plain = plainFile ? await readPiece(plainFile, done, length) : typeof content === "number" ? xorshift32Bytes(seed * 1_000_003 + piece, length) : (content as Uint8Array).slice();
    sha256.update(plain);
    md5.update(plain);
    await keystream.apply(plain, done);
    await handle.write(plain, 0, undefined, ENC_HEADER_BYTES + done);
  }
  const digest = sha256.digest();
  await handle.write(digest, 0, ENC_HEADER_BYTES, 0);
  await handle.close();
  await plainFile?.close();
  await rename(temp, join(encDir, encFileName(name, digest.toString("hex"))));
  return { name, sha256: digest.toString("hex"), encMd5: null, md5: md5.digest("hex"), size };
}

async function readPiece(file: Awaited<ReturnType<typeof open>>, at: number, length: number): Promise<Uint8Array> {
  const piece = new Uint8Array(length);
  for (let filled = 0; filled < length; ) filled += (await file.read(piece, filled, length - filled, at + filled)).bytesRead;
  return piece;
}
