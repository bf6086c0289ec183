import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { contiguousStateDict, writeTorchSave } from "@model-recover/torch-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseParams } from "./params.js";
import { hfTensorBlocks } from "./row-blocks.js";
import { shardCheckpoint, shardIndexJson } from "./sharding.js";
import { convertGeometry, planTensors } from "./tensor-plan.js";
import { runPython } from "./test-support/python.js";
import { rawRowReader } from "./test-support/raw-row-reader.js";

// A LLaMA of dim 64, 8 heads, 2 layers, vocab 32000 in 1, 2 and 4 model-parallel shards, converted by
// llama_reference.py with torch (the 2023 script's operations) and here by the row-block math.
const REFERENCE = new URL("./test-support/llama_reference.py", import.meta.url).pathname;
const MAX_SHARD_BYTES = 5_000_000; // splits the tiny model in two, as 10 GB splits 30B in seven
const BLOCK_BYTES = 1000; // a few rows at a time: the 4 MB embeddings come in thousands of blocks
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function converted(shards: number) {
  const dir = await mkdtemp(join(tmpdir(), `llama-convert-${shards}-`));
  dirs.push(dir);
  await runPython(REFERENCE, [dir, String(shards), String(40 + shards), String(MAX_SHARD_BYTES)]);
  const params = parseParams(await readFile(join(dir, "params.json"), "utf8"), join(dir, "params.json"));
  const geometry = convertGeometry(params, shards, dir);
  const plan = planTensors(geometry);
  const originals = new Map(plan.flatMap((t) => (t.source.kind === "rotary-inv-freq" ? [] : [[t.source.original, t.originalShape!]])));
  const reader = rawRowReader(join(dir, "raw"), (name) => originals.get(name)!.at(-1)! * 2);
  return { dir, geometry, plan, reader };
}

const sha256 = async (path: string) => createHash("sha256").update(await readFile(path)).digest("hex");

describe.each([1, 2, 4])("converting %i original shard(s)", (shards) => {
  let setup: ReturnType<typeof converted>;
  beforeAll(async () => {
    setup = converted(shards);
    await setup;
  });

  it("plans the state dict torch's model has: names, order, dtypes, shapes", async () => {
    const { dir, plan } = await setup;
    const want = JSON.parse(await readFile(join(dir, "plan.json"), "utf8"));
    expect(plan.map(({ name, dtype, shape }) => ({ name, dtype, shape }))).toEqual(want);
  });

  it("makes every tensor bit-identical to torch's, one small block at a time", async () => {
    const { dir, geometry, plan, reader } = await setup;
    for (const tensor of plan) {
      const blocks: Uint8Array[] = [];
      for await (const block of hfTensorBlocks(tensor, geometry, reader, BLOCK_BYTES)) {
        expect(block.length).toBeLessThanOrEqual(Math.max(BLOCK_BYTES, geometry.headDim * geometry.params.dim * 2));
        blocks.push(block);
      }
      expect(Buffer.concat(blocks).equals(await readFile(join(dir, "hf-raw", tensor.name))), tensor.name).toBe(true);
    }
  });

  it("writes shard files and an index byte-identical to torch.save's and save_pretrained's", async () => {
    const { dir, geometry, plan, reader } = await setup;
    const hfShards = shardCheckpoint(plan, MAX_SHARD_BYTES);
    expect(hfShards.map((s) => s.fileName)).toEqual(["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"]);
    for (const shard of hfShards) {
      const path = join(dir, shard.fileName);
      await writeTorchSave(path, contiguousStateDict(shard.tensors), (i) => hfTensorBlocks(shard.tensors[i]!, geometry, reader, 64 << 10));
      expect(await sha256(path), shard.fileName).toBe(await sha256(join(dir, "hf", shard.fileName)));
    }
    expect(shardIndexJson(hfShards)).toBe(await readFile(join(dir, "hf", "pytorch_model.bin.index.json"), "utf8"));
  });
});
