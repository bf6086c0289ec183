import { describe, expect, it } from "vitest";
import { parseParams } from "./params.js";
import { hfTensorBlocks, permuteRotaryHeads } from "./row-blocks.js";
import { convertGeometry, planTensors } from "./tensor-plan.js";

describe("permuteRotaryHeads", () => {
  it("puts each head's even rows first, then its odd rows (view(h, d/2, 2, dim).transpose(1, 2))", () => {
    const rows = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13]); // two heads of 4 one-byte rows, then more
    expect([...permuteRotaryHeads(rows.subarray(0, 8), 4, 1)]).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    expect([...permuteRotaryHeads(Uint8Array.from([0, 1, 2, 3, 4, 5]), 6, 1)]).toEqual([0, 2, 4, 1, 3, 5]);
  });
});

describe("hfTensorBlocks", () => {
  const geometry = convertGeometry(parseParams('{"dim": 64, "multiple_of": 256, "n_heads": 8, "n_layers": 1, "norm_eps": 1e-06, "vocab_size": -1}', "p"), 2, "llama");
  const q = planTensors(geometry).find((t) => t.name.endsWith("q_proj.weight"))!;

  it("refuses a reader that returns the wrong number of bytes, naming the tensor, shard and rows", async () => {
    const shortReader = { readRows: async (_shard: number, _name: string, _first: number, count: number) => new Uint8Array(count * 128 - 1) };
    const drain = async () => {
      for await (const _ of hfTensorBlocks(q, geometry, shortReader)) void _;
    };
    await expect(drain()).rejects.toThrow(expect.objectContaining({ code: "ROWS_INVALID", message: "layers.0.attention.wq.weight in shard 0: rows 0..31 should be 4096 bytes (128 a row) but the reader returned 4095" }));
  });

  it("asks for whole heads inside one shard, never a whole tensor", async () => {
    const asked: string[] = [];
    const reader = {
      readRows: async (shard: number, _name: string, first: number, count: number) => {
        asked.push(`${shard}:${first}+${count}`);
        return new Uint8Array(count * 128);
      },
    };
    for await (const _ of hfTensorBlocks(q, geometry, reader, 2048)) void _;
    expect(asked).toEqual(["0:0+16", "0:16+16", "1:0+16", "1:16+16"]);
  });
});

describe("convertGeometry", () => {
  it("refuses a shard count the heads, dim, MLP or vocabulary do not split into", () => {
    const params = parseParams('{"dim": 64, "multiple_of": 256, "n_heads": 8, "n_layers": 1, "norm_eps": 1e-06, "vocab_size": -1}', "p");
    expect(() => convertGeometry(params, 3, "llama/13B")).toThrow(expect.objectContaining({ code: "SHARDS_INVALID", message: "llama/13B: 3 original shards: n_heads (8) does not split evenly into them" }));
    expect(() => convertGeometry(params, 0, "llama/13B")).toThrow("expected a whole number of consolidated.NN.pth files");
  });
});
