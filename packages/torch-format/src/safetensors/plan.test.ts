import { describe, expect, it } from "vitest";
import { type Dtype, dtypeBytes } from "../dtype.js";
import { elementCount, type TorchTensor } from "../torch/tensor.js";
import { planNewSafetensors, planSafetensors } from "./plan.js";
import { parseSafetensorsHeader } from "./read-header.js";

/** A contiguous tensor on its own storage unless `storageKey`/`storageOffset` say otherwise. */
function tensor(name: string, dtype: Dtype, shape: number[], more: Partial<TorchTensor> = {}): TorchTensor {
  const stride = shape.map((_, i) => elementCount(shape.slice(i + 1)));
  return { name, dtype, shape, stride, storageOffset: 0, storageKey: name, ...more };
}

function plan(tensors: TorchTensor[], storageBytes: Record<string, number> = {}, discardNames: string[] = []) {
  const bytes = new Map(tensors.map((t) => [t.storageKey, storageBytes[t.storageKey] ?? elementCount(t.shape) * dtypeBytes(t.dtype)]));
  return planSafetensors({ tensors, storageBytes: bytes }, "x.bin", { discardNames });
}

describe("planSafetensors: the file convert.py and the reference writer would make", () => {
  it("orders tensors by descending dtype (I64, F64, F32, I32, BF16, F16, I16, I8, U8, BOOL), then by name", () => {
    const dtypes: Dtype[] = ["BOOL", "U8", "I8", "I16", "F16", "BF16", "I32", "F32", "F64", "I64"];
    const { tensors } = plan(dtypes.map((dtype) => tensor(`t.${dtype}`, dtype, [2])));
    expect(tensors.map((t) => t.dtype)).toEqual([...dtypes].reverse());
    expect(tensors.map((t) => t.dataOffsets)).toEqual([[0, 16], [16, 32], [32, 40], [40, 48], [48, 52], [52, 56], [56, 60], [60, 62], [62, 64], [64, 66]]);
  });

  it("orders names by code point as Rust and Python do, not by UTF-16 unit", () => {
    const names = ["b", "\u{1F600}", "a", "\uFFFD", "B"];
    expect(plan(names.map((name) => tensor(name, "F16", [1]))).tensors.map((t) => t.name)).toEqual(["B", "a", "b", "\uFFFD", "\u{1F600}"]);
  });

  it("writes an 8-byte little-endian length, then compact JSON padded with spaces to a multiple of 8", () => {
    const { header, fileBytes, dataBytes } = plan([tensor("w", "F32", [2, 3]), tensor("ü", "BF16", [])]);
    const n = Number(Buffer.from(header).readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    expect(header.length).toBe(8 + n);
    const json = Buffer.from(header.subarray(8)).toString("utf8");
    expect(json.trimEnd()).toBe('{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"ü":{"dtype":"BF16","shape":[],"data_offsets":[24,26]}}');
    expect(json.slice(json.trimEnd().length)).toMatch(/^ *$/);
    expect(parseSafetensorsHeader(header, fileBytes, "x").dataBytes).toBe(dataBytes);
  });

  describe("tensors sharing a storage (convert.py _remove_duplicate_names)", () => {
    it("keeps the first complete name, or the first not in discardNames, and records the other", () => {
      const tied = [tensor("model.embed_tokens.weight", "F16", [4, 2]), tensor("lm_head.weight", "F16", [4, 2], { storageKey: "model.embed_tokens.weight" })];
      expect(plan(tied).metadata).toEqual([["format", "pt"], ["model.embed_tokens.weight", "lm_head.weight"]]);
      expect(plan(tied, {}, ["lm_head.weight"]).metadata).toEqual([["format", "pt"], ["lm_head.weight", "model.embed_tokens.weight"]]);
    });

    it("keeps a lone view that is not complete as a copy of its own elements", () => {
      const { tensors, droppedNames } = plan([tensor("v", "F32", [3], { storageOffset: 5 })], { v: 40 });
      expect(droppedNames.size).toBe(0);
      expect(tensors[0]).toMatchObject({ name: "v", dataOffsets: [0, 12] });
    });

    it("refuses overlapping views with no complete name among them: SHARED_STORAGE, naming them", () => {
      const views = [tensor("a", "F32", [6], { storageKey: "s" }), tensor("b", "F32", [6], { storageKey: "s", storageOffset: 3 })];
      expect(() => plan(views, { s: 40 })).toThrow(expect.objectContaining({ code: "SHARED_STORAGE", message: expect.stringContaining('tensors "a", "b" share storage "s"') }));
    });

    it("shares nothing through an empty storage", () => {
      const empty = [tensor("a", "F16", [0], { storageKey: "e" }), tensor("b", "F16", [0, 3], { storageKey: "e" })];
      expect(plan(empty, { e: 0 }).tensors.map((t) => t.name)).toEqual(["a", "b"]);
    });

    it('records a dropped name in the metadata unless it is a key already, as convert.py does for "format"', () => {
      const { metadata, droppedNames } = plan([tensor("weights", "F16", [2]), tensor("format", "F16", [2], { storageKey: "weights" })], {}, ["format"]);
      expect(droppedNames).toEqual(new Map([["format", "weights"]]));
      expect(metadata).toEqual([["format", "pt"]]);
    });
  });

  it('refuses a tensor named "__metadata__", which the format reserves', () => {
    expect(() => plan([tensor("__metadata__", "F16", [1])])).toThrow(expect.objectContaining({ code: "SAFETENSORS_INVALID" }));
  });
});

describe("planNewSafetensors: a checkpoint written from scratch, one storage per tensor", () => {
  it("plans what planSafetensors plans for the same tensors loaded from a .bin, front to back", () => {
    const tensors = [{ name: "model.embed_tokens.weight", dtype: "F16" as const, shape: [8, 4] }, { name: "model.layers.0.self_attn.rotary_emb.inv_freq", dtype: "F32" as const, shape: [2] }];
    const fresh = planNewSafetensors(tensors, "model.safetensors");
    expect(fresh.tensors.map((t) => [t.name, t.dataOffsets])).toEqual([["model.layers.0.self_attn.rotary_emb.inv_freq", [0, 8]], ["model.embed_tokens.weight", [8, 72]]]);
    expect(Buffer.from(fresh.header)).toEqual(Buffer.from(plan(tensors.map((t) => tensor(t.name, t.dtype, t.shape))).header));
    expect(parseSafetensorsHeader(fresh.header, fresh.fileBytes, "model.safetensors").dataBytes).toBe(72);
  });
});
