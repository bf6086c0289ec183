import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertFolder } from "../convert/convert-folder.js";
import { python, pythonOk, SCRIPTS } from "../test-support/torch.js";
import { applyDelta, type ApplyDeltaOptions } from "./apply-delta.js";
import type { ApplyDeltaEvent } from "./delta-events.js";

// Tiny LLaMA-shaped pairs made by torch (dim 64, 4 heads, 2 layers, vocab 32000 or 32001: 8.5 MB
// each), the base and the delta sharded differently, and FastChat's apply_delta done by torch.
// 64 KiB blocks make every matrix cross several blocks.
const OUT_SHARD_BYTES = 4_500_000;
const BLOCK_BYTES = 64 * 1024;
const sha256 = async (path: string) => createHash("sha256").update(await readFile(path)).digest("hex");
const visible = async (dir: string) => (await readdir(dir)).filter((name) => !name.startsWith(".")).sort();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "apply-delta-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function apply(options: Omit<ApplyDeltaOptions, "maxShardBytes" | "blockBytes">, events: ApplyDeltaEvent[] = []) {
  return applyDelta({ maxShardBytes: OUT_SHARD_BYTES, blockBytes: BLOCK_BYTES, onEvent: (event) => events.push(event), ...options });
}

async function makePair(name: string, seed: number, deltaVocab: number, baseShard: number, deltaShard: number, dims: number[] = []): Promise<string> {
  const root = join(dir, name);
  await pythonOk(SCRIPTS.deltaReference, ["pair", root, String(seed), String(deltaVocab), String(baseShard), String(deltaShard), ...dims.map(String)]);
  return root;
}

const CASES = [
  { math: "add-delta", vocab: 32000, baseShard: 5_000_000, deltaShard: 4_200_000, sharding: "base in 2 files, delta in 3" },
  { math: "add-delta", vocab: 32000, baseShard: 10 ** 9, deltaShard: 5_000_000, sharding: "base in 1 file, delta in 2" },
  { math: "add-delta-v0", vocab: 32001, baseShard: 4_200_000, deltaShard: 10 ** 9, sharding: "base in 3 files, delta in 1" },
] as const;

describe.each(CASES)("$math with a $vocab-token delta ($sharding) against FastChat's math in torch 1.13.1", ({ math, vocab, baseShard, deltaShard }) => {
  let root: string;
  let reference: string;
  let out: string;
  beforeAll(async () => {
    root = await makePair(`${math}-${baseShard}`, baseShard % 97, vocab, baseShard, deltaShard);
    reference = join(root, "reference");
    out = join(root, "out");
    await pythonOk(SCRIPTS.deltaReference, ["apply", join(root, "base"), join(root, "delta"), reference, String(OUT_SHARD_BYTES), math]);
  }, 120_000);

  it("writes .bin shards and an index byte-identical to torch.save's of the tuned state dict", async () => {
    const summary = await apply({ base: join(root, "base"), delta: join(root, "delta"), outDir: out, math });
    expect(summary.ok).toBe(true);
    expect(summary.vocab).toBe(vocab);
    const weights = (await visible(reference)).filter((name) => name.startsWith("pytorch_model"));
    expect(weights.length).toBeGreaterThan(1);
    for (const name of weights) expect(await sha256(join(out, name)), name).toBe(await sha256(join(reference, name)));
    expect(summary.folderProblems).toEqual([]);
  });

  it("reads back in torch.load equal to torch's, every tensor bit for bit (overflow to inf, subnormals, -0 included)", async () => {
    const run = await python(SCRIPTS.llamaReference, ["compare", out, reference]);
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toMatch(/^ok: \d shards, 23 tensors bit-identical$/);
  });

  it("takes config.json and the tokenizer from the delta, with LLaMATokenizer written as LlamaTokenizer, and says so", async () => {
    expect((await visible(out)).filter((name) => !name.startsWith("pytorch_model"))).toEqual(["config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.model", "tokenizer_config.json"]);
    for (const name of ["config.json", "generation_config.json", "tokenizer.model"]) expect(await sha256(join(out, name)), name).toBe(await sha256(join(root, "delta", name)));
    const tokenizerConfig = await readFile(join(out, "tokenizer_config.json"), "utf8");
    expect(tokenizerConfig).toBe((await readFile(join(root, "delta", "tokenizer_config.json"), "utf8")).replace('"LLaMATokenizer"', '"LlamaTokenizer"'));
  });

  it("writes safetensors shards that pass check-safetensors.py against torch's .bin shards", async () => {
    const safetensors = join(root, "out-safetensors");
    const summary = await apply({ base: join(root, "base"), delta: join(root, "delta"), outDir: safetensors, math, format: "safetensors" });
    expect(summary.ok).toBe(true);
    const bins = (await visible(reference)).filter((name) => name.endsWith(".bin"));
    const pairs = bins.flatMap((bin) => [join(safetensors, bin.replace("pytorch_model", "model").replace(".bin", ".safetensors")), "--bin", join(reference, bin)]);
    const check = await python(SCRIPTS.checkSafetensors, pairs);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
    expect(await visible(safetensors)).toContain("model.safetensors.index.json");
  });
});

describe("inputs in other forms, a second run", () => {
  let root: string;
  beforeAll(async () => {
    root = await makePair("forms", 5, 32000, 5_000_000, 4_200_000);
    await convertFolder({ inDir: join(root, "delta"), outDir: join(root, "delta-safetensors") });
    await apply({ base: join(root, "base"), delta: join(root, "delta"), outDir: join(root, "out"), math: "add-delta" });
  }, 120_000);

  it("reads a safetensors delta to the same bytes as its .bin delta", async () => {
    const out = join(root, "from-safetensors");
    const summary = await apply({ base: join(root, "base"), delta: join(root, "delta-safetensors"), outDir: out, math: "add-delta" });
    expect(summary.ok).toBe(true);
    for (const name of await visible(join(root, "out"))) expect(await sha256(join(out, name)), name).toBe(await sha256(join(root, "out", name)));
  });

  it("keeps every output an earlier run verified from the same inputs, writing nothing again", async () => {
    const events: ApplyDeltaEvent[] = [];
    const summary = await apply({ base: join(root, "base"), delta: join(root, "delta"), outDir: join(root, "out"), math: "add-delta" }, events);
    expect(summary.files.every((f) => f.status === "verified" && f.reused)).toBe(true);
    expect(events.filter((e) => e.type === "file-started")).toEqual([]);
  });

  it("continues an interrupted run with the next file, keeping those already published", async () => {
    const stop = new AbortController();
    const outDir = join(root, "stopped");
    const interrupted = applyDelta({
      base: join(root, "base"),
      delta: join(root, "delta"),
      outDir,
      math: "add-delta",
      maxShardBytes: OUT_SHARD_BYTES,
      blockBytes: BLOCK_BYTES,
      signal: stop.signal,
      onEvent: (event) => {
        if (event.type === "file-verified") stop.abort();
      },
    });
    await expect(interrupted).rejects.toMatchObject({ code: "INTERRUPTED" });
    expect(await visible(outDir)).toEqual(["pytorch_model-00001-of-00002.bin"]);
    const summary = await apply({ base: join(root, "base"), delta: join(root, "delta"), outDir, math: "add-delta" });
    expect(summary.files.map((f) => f.status === "verified" && f.reused).slice(0, 2)).toEqual([true, false]);
    for (const name of await visible(join(root, "out"))) expect(await sha256(join(outDir, name)), name).toBe(await sha256(join(root, "out", name)));
  });

  it("refuses an output folder inside the delta folder before writing anything", async () => {
    await expect(apply({ base: join(root, "base"), delta: join(root, "delta"), outDir: join(root, "delta", "tuned"), math: "add-delta" })).rejects.toMatchObject({ code: "OUT_OVERLAPS" });
    expect(await readdir(join(root, "delta", "tuned")).catch(() => "absent")).toBe("absent");
  });

  it("says that no md5 is published to check the tuned files against, and what it fixed", async () => {
    const summary = await apply({ base: join(root, "base"), delta: join(root, "delta"), outDir: join(root, "out"), math: "add-delta" });
    expect(summary.unchecked).toEqual(["no md5 is published for the recovered files: each is as the math makes it from these inputs, not checked against a card"]);
    expect(summary.fixes.map((f) => f.file)).toEqual(["tokenizer_config.json"]);
  });
});

describe("the known traps, each refused before any weight is read or anything written", () => {
  let v0: string;
  let v11: string;
  let wide: string;
  beforeAll(async () => {
    wide = await makePair("trap-wide", 13, 32000, 10 ** 9, 10 ** 9, [128, 4, 2]);
    v0 = await makePair("trap-v0", 11, 32001, 5_000_000, 5_000_000);
    v11 = await makePair("trap-v11", 12, 32000, 5_000_000, 5_000_000);
    await pythonOk(SCRIPTS.deltaReference, ["rewrite", join(v11, "delta"), join(v11, "delta-f32"), "-", "float32"]);
    await pythonOk(SCRIPTS.deltaReference, ["rewrite", join(v11, "delta"), join(v11, "delta-short"), "model.layers.1.mlp.up_proj.weight", "float16"]);
    await pythonOk(SCRIPTS.deltaReference, ["rewrite", join(v11, "base"), join(v11, "base-f32"), "-", "float32"]);
    await pythonOk(SCRIPTS.deltaReference, ["strided", join(v11, "delta"), join(v11, "delta-strided"), "model.layers.0.mlp.up_proj.weight"]);
  }, 120_000);

  const refused = async (options: Omit<ApplyDeltaOptions, "outDir" | "maxShardBytes" | "blockBytes">, code: string, message: RegExp) => {
    const outDir = join(dir, `refused-${code}-${Math.random().toString(36).slice(2)}`);
    await expect(apply({ ...options, outDir })).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
    expect(await readdir(outDir).catch(() => "absent")).toBe("absent");
  };

  it("a v0 delta (32001 tokens) with the v1.1 math: named as such, with the recipe and --vocab to use", async () => {
    await refused({ base: join(v0, "base"), delta: join(v0, "delta"), math: "add-delta" }, "DELTA_VOCAB", /32001 tokens .*Vicuna v0 or StableVicuna.*32000 vs 32001.*vicuna-13b-v0 or stable-vicuna-13b, or apply-delta --vocab pad-token$/);
  });

  it("a v1.1 delta (32000 tokens) with the v0 math", async () => {
    await refused({ base: join(v11, "base"), delta: join(v11, "delta"), math: "add-delta-v0" }, "DELTA_VOCAB", /32000 tokens, as many as the base: a Vicuna v1.1-style delta.*apply-delta --vocab same$/);
  });

  it("a delta of another shape than the base: the tensor and both shapes named", async () => {
    await refused({ base: join(v11, "base"), delta: join(wide, "delta"), math: "add-delta" }, "DELTA_WRONG", /pytorch_model\.bin: model\.embed_tokens\.weight is \[32000, 128\], but the base.s is \[32000, 64\]; this delta is not of a LLaMA of hidden size 64, 2 layers, 4 heads$/);
  });

  it("a delta missing a base tensor", async () => {
    await refused({ base: join(v11, "base"), delta: join(v11, "delta-short"), math: "add-delta" }, "DELTA_WRONG", /has no tensor model\.layers\.1\.mlp\.up_proj\.weight, which the base .* has; every base tensor must be in the delta/);
  });

  it("a delta in float32", async () => {
    await refused({ base: join(v11, "base"), delta: join(v11, "delta-f32"), math: "add-delta" }, "DELTA_WRONG", /pytorch_model\.bin: model\.embed_tokens\.weight is F32, expected F16/);
  });

  it("a base in float32, and a base whose shapes its config.json does not imply", async () => {
    await refused({ base: join(v11, "base-f32"), delta: join(v11, "delta"), math: "add-delta" }, "BASE_WRONG", /is F32, expected F16: the base of a FastChat delta is float16/);
    await refused({ base: join(v11, "delta-short"), delta: join(v11, "delta"), math: "add-delta" }, "BASE_WRONG", /has no tensor model\.layers\.1\.mlp\.up_proj\.weight, which config\.json \(a LLaMA of hidden size 64, 2 layers, 4 heads\) implies/);
  });

  it("a delta tensor saved as a strided view", async () => {
    await refused({ base: join(v11, "base"), delta: join(v11, "delta-strided"), math: "add-delta" }, "TENSOR_NOT_CONTIGUOUS", /pytorch_model\.bin: model\.layers\.0\.mlp\.up_proj\.weight is a strided view \(shape \[256, 64\], stride \[1, 256\]\)/);
  });

  it("a base that is no model folder", async () => {
    await refused({ base: join(v11, "delta-missing"), delta: join(v11, "delta"), math: "add-delta" }, "BASE_MISSING", /delta-missing: not found; pass the base: LLaMA converted to Hugging Face format/);
  });
});
