import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { contiguousStateDict } from "@model-recover/torch-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectPath } from "./inspect.js";
import { expectedLlamaTensors, readLlamaDimensions } from "./llama-shapes.js";
import type { InspectReport } from "./report.js";
import { llamaConfig, llamaTensors, TINY, tiedStateDict, writeCheckpoint } from "./test-support/llama-folder.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "inspect-config-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

let folders = 0;
/** A folder of one pytorch_model.bin holding `tensors` (or a tied state dict) and this config.json. */
async function inspectModel(config: Record<string, unknown> | string | undefined, tensors = llamaTensors(), tied = false): Promise<InspectReport> {
  const dir = await mkdtemp(join(root, `m${folders++}-`));
  if (config !== undefined) await writeFile(join(dir, "config.json"), typeof config === "string" ? config : JSON.stringify(config));
  await writeCheckpoint(join(dir, "pytorch_model.bin"), tied ? tiedStateDict(tensors) : contiguousStateDict(tensors), 3);
  return inspectPath(dir);
}
const messages = (report: InspectReport) => report.problems.map((p) => `${p.file}: ${p.message}`);

describe("the shapes config.json implies for a LLaMA (transformers' LlamaForCausalLM)", () => {
  it("embed_tokens and lm_head are vocab x hidden, q/k/v/o hidden x hidden, gate/up intermediate x hidden, down hidden x intermediate, norms hidden", () => {
    const reading = readLlamaDimensions(llamaConfig());
    if (!reading.ok) throw new Error(reading.reasons.join("; "));
    const shapes = Object.fromEntries([...expectedLlamaTensors(reading.dimensions)].filter(([name]) => !name.startsWith("model.layers.1.")).map(([name, e]) => [name, e.shape]));
    expect(shapes).toEqual({
      "model.embed_tokens.weight": [32, 16],
      "model.layers.0.self_attn.q_proj.weight": [16, 16],
      "model.layers.0.self_attn.k_proj.weight": [16, 16],
      "model.layers.0.self_attn.v_proj.weight": [16, 16],
      "model.layers.0.self_attn.o_proj.weight": [16, 16],
      "model.layers.0.self_attn.rotary_emb.inv_freq": [2],
      "model.layers.0.mlp.gate_proj.weight": [44, 16],
      "model.layers.0.mlp.up_proj.weight": [44, 16],
      "model.layers.0.mlp.down_proj.weight": [16, 44],
      "model.layers.0.input_layernorm.weight": [16],
      "model.layers.0.post_attention_layernorm.weight": [16],
      "model.norm.weight": [16],
      "lm_head.weight": [32, 16],
    });
  });

  it("grouped-query attention (LLaMA 2 70B's num_key_value_heads) narrows k and v", () => {
    const reading = readLlamaDimensions(llamaConfig(TINY, { num_key_value_heads: 2 }));
    expect(reading.ok && expectedLlamaTensors(reading.dimensions).get("model.layers.0.self_attn.k_proj.weight")).toEqual({ shape: [8, 16], optional: false });
  });

  it("refuses dimensions no LLaMA has, each named, and never lists a billion layers", () => {
    const reading = readLlamaDimensions({ ...llamaConfig(), hidden_size: 18, num_hidden_layers: 1e9, vocab_size: "32000", num_key_value_heads: 3, intermediate_size: undefined });
    expect(reading).toEqual({
      ok: false,
      reasons: [
        "intermediate_size is missing, expected a whole number above 0",
        'vocab_size is "32000", expected a whole number above 0',
        "num_hidden_layers is 1000000000; no LLaMA has more than 1000",
        "hidden_size 18 does not split into 4 attention heads",
        "num_attention_heads 4 is not a multiple of num_key_value_heads 3",
      ],
    });
  });
});

describe("a folder's tensors against config.json", () => {
  it("a shape config.json does not imply is a problem naming both shapes", async () => {
    const report = await inspectModel(llamaConfig({ ...TINY, intermediate: 40 }));
    expect(messages(report)).toContain("pytorch_model.bin: model.layers.1.mlp.down_proj.weight has shape [16, 44], but config.json implies [16, 40]");
    expect(report.problems.every((p) => p.scope === "config")).toBe(true);
  });

  it("a missing tensor is named; past ten, the rest are counted", async () => {
    const report = await inspectModel(llamaConfig({ ...TINY, layers: 4 }));
    expect(messages(report)[0]).toBe("pytorch_model.bin: does not hold model.layers.2.self_attn.q_proj.weight [16, 16], which config.json implies");
    expect(messages(report).at(-1)).toBe("pytorch_model.bin: does not hold 8 more tensors config.json implies (18 missing in all)");
    expect(report.problems).toHaveLength(11);
  });

  it("a tensor no LLaMA has is a problem; the rotary buffers older transformers saved are not", async () => {
    const tensors = [...llamaTensors(), { name: "model.layers.0.self_attn.rotary_emb.inv_freq", dtype: "F32" as const, shape: [2] }, { name: "score.weight", dtype: "F16" as const, shape: [2, 16] }];
    expect(messages(await inspectModel(llamaConfig(), tensors))).toEqual(["pytorch_model.bin: holds score.weight, which a LLaMA with this config.json does not have"]);
  });

  it("with tie_word_embeddings, lm_head.weight may be absent; a tied lm_head is checked like any other", async () => {
    const withoutHead = llamaTensors().filter((t) => t.name !== "lm_head.weight");
    expect((await inspectModel(llamaConfig(TINY, { tie_word_embeddings: true }), withoutHead)).consistent).toBe(true);
    expect(messages(await inspectModel(llamaConfig(), withoutHead))).toEqual(["pytorch_model.bin: does not hold lm_head.weight [32, 16], which config.json implies"]);
    expect((await inspectModel(llamaConfig(), llamaTensors(), true)).consistent).toBe(true);
  });

  it("config.json missing, not JSON, or not an object is a problem; another model type is a note, not checked", async () => {
    expect(messages(await inspectModel(undefined))).toEqual(["config.json: is missing: transformers cannot load the folder without it, and no tensor shape can be checked"]);
    expect(messages(await inspectModel("{ nope"))).toEqual([expect.stringMatching(/^config\.json: is not valid JSON \(/)]);
    expect(messages(await inspectModel("[1]"))).toEqual(["config.json: holds an array, not a JSON object"]);
    const gpt2 = await inspectModel({ model_type: "gpt2", n_embd: 16 });
    expect(gpt2).toMatchObject({ consistent: true, notes: ['config.json: model_type "gpt2" is not a LLaMA\'s; tensor shapes are not checked against it'] });
    expect(gpt2.config).toBeUndefined();
  });

  it("a config.json too big to be one is refused unread", async () => {
    const report = await inspectModel(`{"pad": "${"x".repeat(1024 * 1024)}"}`);
    expect(messages(report)).toEqual([expect.stringMatching(/^config\.json: \d+ bytes is too big for a config\.json \(at most 1048576\)$/)]);
  });
});
