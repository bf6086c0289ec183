import { describe, expect, it } from "vitest";
import { checkStateDict, contiguousStride, type StateDictSpec } from "./state-dict.js";

const f16 = (numel: number) => ({ dtype: "F16" as const, numel });
const view = (name: string, storage: number, shape: number[], stride = contiguousStride(shape), storageOffset = 0) => ({ name, storage, storageOffset, shape, stride });
const check = (spec: StateDictSpec) => () => checkStateDict(spec, "out/pytorch_model.bin");

describe("contiguousStride", () => {
  it("is c10's: a dim of size 0 counts as 1", () => {
    expect(contiguousStride([2, 0, 3])).toEqual([3, 3, 1]);
    expect(contiguousStride([3, 0])).toEqual([1, 1]);
    expect(contiguousStride([])).toEqual([]);
  });
});

describe("checkStateDict refuses a state dict torch.save could not have been given", () => {
  it("accepts tied weights, offsets and transposed views inside their storage", () => {
    expect(check({ storages: [f16(24), f16(10)], tensors: [view("a", 0, [6, 4]), view("b", 1, [6], [1], 4), view("c", 0, [4, 6], [1, 4]), view("d", 0, [0, 99], [1, 1], 24)] })).not.toThrow();
  });

  it.each([
    ["a name twice", { storages: [f16(1)], tensors: [view("a", 0, [1]), view("a", 0, [1])] }, 'tensor "a": the name appears twice'],
    ["a storage used before the ones before it", { storages: [f16(1), f16(1)], tensors: [view("a", 1, [1]), view("b", 0, [1])] }, "storage 1 must be one already used or the next one (0)"],
    ["a storage nobody uses", { storages: [f16(1), f16(1)], tensors: [view("a", 0, [1])] }, "2 storages but only 1 are used"],
    ["a view past the end of its storage", { storages: [f16(10)], tensors: [view("a", 0, [3, 4], [4, 1], 0)] }, 'tensor "a": reaches element 11 of a storage of 10'],
    ["an offset past the end", { storages: [f16(10)], tensors: [view("a", 0, [1], [1], 10)] }, "reaches element 10 of a storage of 10"],
    ["stride and shape of different rank", { storages: [f16(4)], tensors: [view("a", 0, [4], [1, 1])] }, "shape has 1 dims but stride has 2"],
    ["a negative or fractional dim", { storages: [f16(4)], tensors: [view("a", 0, [-4], [1])] }, "must be whole numbers >= 0"],
    ["an unknown dtype", { storages: [{ dtype: "F8", numel: 1 }], tensors: [view("a", 0, [1])] }, 'dtype "F8" is not one of'],
    ["a huge storage", { storages: [{ dtype: "F64", numel: 2 ** 52 }], tensors: [view("a", 0, [1])] }, "more bytes than this writer can address"],
    ["a name with a lone surrogate", { storages: [f16(1)], tensors: [view("a\ud800", 0, [1])] }, "without lone surrogates"],
  ])("%s", (_, spec, message) => {
    expect(check(spec as StateDictSpec)).toThrow(message);
  });

  it("says which file and gives the SAVE_BAD_STATE_DICT code", () => {
    expect(check({ storages: [], tensors: [view("a", 0, [1])] })).toThrow(expect.objectContaining({ code: "SAVE_BAD_STATE_DICT", message: expect.stringMatching(/^out\/pytorch_model\.bin: /) }));
  });
});
