import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { configJson, generationConfigJson, specialTokensMapJson, tokenizerConfigJson } from "./hf-files.js";
import { parseParams } from "./params.js";
import { shardCheckpoint, shardIndexJson } from "./sharding.js";
import { knownLlamaSize } from "./sizes.js";
import { convertGeometry, planTensors } from "./tensor-plan.js";

// The published params.json of LLaMA-30B, byte for byte, and the md5s OpenAssistant's card
// (oasst-sft-6-llama-30b-xor) publishes for the folder transformers d04ec99 converted it to.
const PARAMS_30B = '{"dim": 6656, "multiple_of": 256, "n_heads": 52, "n_layers": 60, "norm_eps": 1e-06, "vocab_size": -1}';
const md5 = (text: string) => createHash("md5").update(text).digest("hex");

describe("the converted LLaMA-30B folder from params.json alone", () => {
  const params = parseParams(PARAMS_30B, "llama/30B/params.json");

  it("starts from the published params.json", () => {
    expect(md5(PARAMS_30B)).toBe("4babdbd05b8923226a9e9622492054b6");
  });

  it.each([
    ["config.json", () => configJson(params), "598538f18fed1877b41f77de034c0c8a"],
    ["generation_config.json", generationConfigJson, "aee09e21813368c49baaece120125ae3"],
    ["tokenizer_config.json", tokenizerConfigJson, "edd1a5897748864768b1fab645b31491"],
    ["special_tokens_map.json", specialTokensMapJson, "6b2e0a735969660e720c27061ef3f3d3"],
  ])("writes %s with the card's md5", (_, make, want) => {
    expect(md5(make())).toBe(want);
  });

  it("writes pytorch_model.bin.index.json with the card's md5: order, sizes (float32 inv_freq) and 7 shard boundaries", () => {
    const shards = shardCheckpoint(planTensors(convertGeometry(params, knownLlamaSize(params)!.shards, "llama/30B")));
    expect(shards.map((s) => s.fileName).at(-1)).toBe("pytorch_model-00007-of-00007.bin");
    expect(md5(shardIndexJson(shards)!)).toBe("fecfda4fba7bfd911e187a85db5fa2ef");
  });
});
