import { describe, expect, it } from "vitest";
import { bytes, call, global, int, stateDict, tensorV2, text, tuple } from "../test-support/pickle-bytes.js";
import { readStateDict } from "../torch/state-dict.js";
import { PICKLE_MAX_OBJECTS } from "./unpickler.js";

const read = (pickle: Uint8Array) => readStateDict(pickle, "x.bin", "archive");
const half3 = tensorV2("HalfStorage", "0", 3, 0, [3], [1]);

describe("the restricted unpickler", () => {
  it("reads the tensor form newer torch writes for dtypes without a storage class: _rebuild_tensor_v3 on an UntypedStorage", () => {
    const untyped = bytes(tuple(text("storage"), global("torch", "UntypedStorage"), text("0"), text("cpu"), int(12)), [0x51]);
    const v3 = call("torch._utils", "_rebuild_tensor_v3", untyped, int(1), tuple(int(2), int(2)), tuple(int(2), int(1)), [0x89], call("collections", "OrderedDict"), global("torch", "bfloat16"));
    expect(read(stateDict([["w", v3]]))).toEqual({
      tensors: [{ name: "w", dtype: "BF16", shape: [2, 2], stride: [2, 1], storageOffset: 1, storageKey: "0" }],
      storageBytes: new Map([["0", 12]]),
    });
  });

  it("accepts torch.Size for a size, and nn.Parameter's _rebuild_parameter around a tensor", () => {
    const sized = call("torch._utils", "_rebuild_tensor_v2", bytes(tuple(text("storage"), global("torch", "FloatStorage"), text("0"), text("cpu"), int(6)), [0x51]), int(0), call("torch", "Size", tuple(int(2), int(3))), tuple(int(3), int(1)), [0x89], call("collections", "OrderedDict"));
    const parameter = call("torch._utils", "_rebuild_parameter", sized, [0x88], call("collections", "OrderedDict"));
    expect(read(stateDict([["p", parameter]])).tensors).toEqual([{ name: "p", dtype: "F32", shape: [2, 3], stride: [3, 1], storageOffset: 0, storageKey: "0" }]);
  });

  it("compares dict keys as Python does: a key set twice keeps its first place and its last value", () => {
    const twice = stateDict([["a", half3], ["b", tensorV2("HalfStorage", "1", 1, 0, [1], [1])], ["a", tensorV2("HalfStorage", "2", 2, 0, [2], [1])]]);
    expect(read(twice).tensors.map((t) => [t.name, t.storageKey])).toEqual([["a", "2"], ["b", "1"]]);
  });

  const refusedOpcodes: Record<string, number[]> = {
    "INST (0x69)": [0x69], "OBJ (0x6f)": [0x6f], "NEWOBJ (0x81)": [0x81], "NEWOBJ_EX (0x92)": [0x92],
    "EXT1 (0x82)": [0x82, 1], "EXT2 (0x83)": [0x83], "EXT4 (0x84)": [0x84], "PERSID (0x50)": [0x50],
    "INT (0x49)": [0x49], "LONG (0x4c)": [0x4c], "STRING (0x53)": [0x53], "UNICODE (0x56)": [0x56], "FLOAT (0x46)": [0x46],
    "LIST (0x6c)": [0x6c], "DICT (0x64)": [0x64], "GET (0x67)": [0x67], "PUT (0x70)": [0x70],
    "EMPTY_SET (0x8f)": [0x8f], "ADDITEMS (0x90)": [0x90], "FROZENSET (0x91)": [0x91],
    "BYTEARRAY8 (0x96)": [0x96], "NEXT_BUFFER (0x97)": [0x97], "READONLY_BUFFER (0x98)": [0x98], "unknown opcode 0xff": [0xff],
  };
  for (const [name, code] of Object.entries(refusedOpcodes)) {
    it(`refuses opcode ${name}, naming it`, () => {
      expect(() => read(bytes([0x80, 2], code))).toThrow(expect.objectContaining({ code: "UNSUPPORTED_OPCODE", message: expect.stringContaining(`x.bin: archive/data.pkl at byte 2: opcode ${name}`) }));
    });
  }

  it("refuses protocols above 5 by number", () => {
    expect(() => read(bytes([0x80, 6, 0x7d, 0x2e]))).toThrow(expect.objectContaining({ code: "UNSUPPORTED_OPCODE", message: expect.stringContaining("pickle protocol 6; torch.save writes protocols 2 to 5") }));
  });

  const malformed: Record<string, [Uint8Array, string]> = {
    "no STOP": [bytes([0x80, 2, 0x7d]), "the pickle ends inside an opcode (no STOP)"],
    "a string running past the end": [bytes([0x80, 2, 0x58, 0xff, 0xff, 0, 0, 0x61]), "ends inside an opcode"],
    "REDUCE on an empty stack": [bytes([0x80, 2, 0x52]), "pops from an empty stack"],
    "a memo slot never stored": [bytes([0x80, 2, 0x68, 5]), "memo slot 5 was never stored"],
    "APPEND to a dict": [bytes([0x80, 2, 0x7d, 0x4b, 1, 0x61]), "APPEND to a dict, not a list"],
    "an integer of 100 bytes": [bytes([0x80, 2, 0x8b, 100, 0, 0, 0]), "an integer of 100 bytes"],
    "a list as a dict key": [bytes([0x80, 2, 0x7d, 0x5d, 0x4b, 1, 0x73]), "a dict key that is a list of 0"],
    "a list where a state dict belongs": [bytes([0x80, 2, 0x5d, 0x2e]), "holds a list of 0, not a state dict"],
    "a string where a tensor belongs": [stateDict([["w", text("hello")]]), 'state dict entry "w" is the string "hello", not a tensor'],
    "a storage declared twice differently": [stateDict([["a", half3], ["b", tensorV2("FloatStorage", "0", 3, 0, [3], [1])]]), 'storage "0" is declared twice, as 3 F16 and as 3 F32'],
    "tensor metadata": [stateDict([["w", call("torch._utils", "_rebuild_tensor_v2", bytes(tuple(text("storage"), global("torch", "HalfStorage"), text("0"), text("cpu"), int(3)), [0x51]), int(0), tuple(int(3)), tuple(int(1)), [0x89], call("collections", "OrderedDict"), bytes([0x7d], text("neg"), [0x88, 0x73]))]]), "with tensor metadata a dict"],
    "sizes and strides of different lengths": [stateDict([["w", tensorV2("HalfStorage", "0", 6, 0, [2, 3], [1])]]), "has 2 sizes but 1 strides"],
    "a negative size": [stateDict([["w", tensorV2("HalfStorage", "0", 6, 0, [-1], [1])]]), "a size entry is the number -1, not a non-negative integer"],
  };
  for (const [what, [pickle, problem]] of Object.entries(malformed)) {
    it(`refuses ${what}: PICKLE_INVALID`, () => {
      expect(() => read(pickle)).toThrow(expect.objectContaining({ code: "PICKLE_INVALID", message: expect.stringContaining(problem) }));
    });
  }

  it(`stops at ${PICKLE_MAX_OBJECTS} objects: a pickle built to exhaust memory is refused`, () => {
    const flood = new Uint8Array(2 + 2 * (PICKLE_MAX_OBJECTS + 1) + 1);
    flood.set([0x80, 2]);
    for (let i = 2; i < flood.length - 1; i += 2) flood.set([0x29, 0x30], i); // EMPTY_TUPLE, POP
    expect(() => read(flood)).toThrow(expect.objectContaining({ code: "PICKLE_INVALID", message: expect.stringContaining(`more than ${PICKLE_MAX_OBJECTS} objects`) }));
  });

  it("names a forbidden global before anything could use it, even one never called", () => {
    expect(() => read(bytes([0x80, 2], global("os", "system"), [0x2e]))).toThrow(
      expect.objectContaining({ code: "FORBIDDEN_GLOBAL", message: expect.stringContaining("archive/data.pkl at byte 2: names the global os.system") }),
    );
    expect(() => read(bytes([0x80, 2], global("torch", "float8_e4m3fn"), [0x2e]))).toThrow(expect.objectContaining({ code: "UNSUPPORTED_DTYPE" }));
  });
});
