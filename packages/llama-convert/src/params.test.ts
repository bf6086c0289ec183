import { describe, expect, it } from "vitest";
import { configJson } from "./hf-files.js";
import { parseParams } from "./params.js";
import { intermediateSize, KNOWN_LLAMA_SIZES, knownLlamaSize } from "./sizes.js";

const params = (fields: Record<string, unknown>) => JSON.stringify({ dim: 64, multiple_of: 256, n_heads: 8, n_layers: 2, norm_eps: 1e-6, vocab_size: -1, ...fields });

describe("intermediateSize", () => {
  it("is 11008, 13824, 17920, 22016 for 7B, 13B, 30B, 65B (256 * ceil(ceil(8 * dim / 3) / 256))", () => {
    expect(KNOWN_LLAMA_SIZES.map((size) => intermediateSize(size.dim))).toEqual([11008, 13824, 17920, 22016]);
  });

  it("rounds up to 256 for any dim", () => {
    expect([64, 96, 768, 3].map(intermediateSize)).toEqual([256, 256, 2048, 256]);
  });
});

describe("parseParams", () => {
  it("knows the published sizes and their shard counts, and no others", () => {
    expect(knownLlamaSize(parseParams(params({ dim: 8192, n_heads: 64, n_layers: 80 }), "p"))).toMatchObject({ name: "65B", shards: 8 });
    expect(knownLlamaSize(parseParams(params({}), "p"))).toBeUndefined();
  });

  it("keeps norm_eps an int when params.json writes one, as Python's json does", () => {
    expect(configJson(parseParams(params({ norm_eps: 1 }), "p"))).toContain('"rms_norm_eps": 1,');
    expect(configJson(parseParams('{"dim": 64, "multiple_of": 256, "n_heads": 8, "n_layers": 2, "norm_eps": 1.0, "vocab_size": -1}', "p"))).toContain('"rms_norm_eps": 1.0,');
  });

  it.each([
    ["not JSON", "{dim: 1}", "not JSON"],
    ["an array", "[]", "expected a JSON object"],
    ["a float dim", params({ dim: 64.5 }), '"dim" must be an integer, found 64.5'],
    ["dim written as a float", params({}).replace('"dim":64', '"dim":64.0'), '"dim" must be an integer'],
    ["a missing n_layers", params({ n_layers: undefined }), '"n_layers" must be an integer, found undefined'],
    ["zero heads", params({ n_heads: 0 }), '"n_heads" must be at least 1, found 0'],
    ["heads that do not divide dim", params({ n_heads: 5 }), '"dim" 64 must split into 5 heads of an even size'],
    ["an odd head size", params({ dim: 24, n_heads: 8 }), '"dim" 24 must split into 8 heads of an even size'],
    ["a vocabulary the 2023 script could not write", params({ vocab_size: 32001 }), '"vocab_size" 32001: the 2023 converter always wrote vocab_size 32000'],
    ["a negative norm_eps", params({ norm_eps: -1 }), '"norm_eps" must be a positive number'],
    ["a huge dim", params({ dim: 1e300 }), '"dim" must be an integer'],
  ])("refuses %s, naming the file", (_, text, message) => {
    expect(() => parseParams(text, "llama/params.json")).toThrow(expect.objectContaining({ code: "PARAMS_INVALID", message: expect.stringContaining(`llama/params.json: ${message}`) }));
  });
});
