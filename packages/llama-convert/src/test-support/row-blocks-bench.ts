// Run by hand: node --import tsx packages/llama-convert/src/test-support/row-blocks-bench.ts [scratch dir]
// Times hfTensorBlocks on 30B-sized tensors from 4 raw shard files (pread through rawRowReader):
// the embeddings (a dim-1 merge of 4 x 32000 x 1664) and a q_proj (rotary, 4 x 1664 x 6656), and
// prints the throughput and this process's peak RSS, which must stay far below one tensor (426 MB).
import { mkdir, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseParams } from "../params.js";
import { hfTensorBlocks } from "../row-blocks.js";
import { convertGeometry, planTensors, tensorBytes } from "../tensor-plan.js";
import { rawRowReader } from "./raw-row-reader.js";

const dir = process.argv[2] ?? join(tmpdir(), "llama-convert-bench");
const params = parseParams('{"dim": 6656, "multiple_of": 256, "n_heads": 52, "n_layers": 1, "norm_eps": 1e-06, "vocab_size": -1}', "30B params");
const geometry = convertGeometry(params, 4, dir);
const plan = planTensors(geometry);
const chosen = plan.filter((t) => t.name === "model.embed_tokens.weight" || t.name.endsWith("q_proj.weight"));
const filler = new Uint8Array(16 << 20).map((_, i) => (i * 2654435761) >>> 24);
for (const tensor of chosen) {
  if (tensor.source.kind === "rotary-inv-freq") continue;
  const bytes = tensorBytes(tensor) / geometry.shards;
  for (let shard = 0; shard < geometry.shards; shard++) {
    await mkdir(join(dir, String(shard)), { recursive: true });
    const file = await open(join(dir, String(shard), tensor.source.original), "w");
    for (let at = 0; at < bytes; at += filler.length) await file.write(filler, 0, Math.min(filler.length, bytes - at), at);
    await file.close();
  }
}
const rowBytes = new Map(chosen.map((t) => [(t.source as { original: string }).original, t.originalShape!.at(-1)! * 2]));
for (const tensor of chosen) {
  const reader = rawRowReader(dir, (name) => rowBytes.get(name)!);
  const started = performance.now();
  let total = 0;
  for await (const block of hfTensorBlocks(tensor, geometry, reader)) total += block.length;
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${tensor.name}: ${(total / 2 ** 20).toFixed(0)} MiB in ${seconds.toFixed(2)} s (${(total / 2 ** 20 / seconds).toFixed(0)} MiB/s), ${reader.reads} reads\n`);
}
process.stdout.write(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`);
await rm(dir, { recursive: true, force: true });
