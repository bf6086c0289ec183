import { expect, it } from "vitest";
import { pyFloat, pythonFloatRepr, pythonJsonDumps } from "./python-json.js";
import { runPython } from "./test-support/python.js";

const FLOATS = [1e-6, 1e-5, 1e-4, 0.02, 0.1, 1, 1.5, -0, -2.5e-7, 123456789.125, 1e15, 1e16, 1.2345e16, 5e-324, 1.7976931348623157e308, 1 / 3, 100, 1e-300];

it("writes floats as Python's repr does", async () => {
  const python = await runPython("-c", ["import sys\nfor v in sys.argv[1:]: print(repr(float(v)))", ...FLOATS.map((v) => (Object.is(v, -0) ? "-0.0" : String(v)))]);
  expect(FLOATS.map(pythonFloatRepr)).toEqual(python.trim().split("\n"));
});

it("writes nested objects as json.dumps(indent=2, sort_keys=True) does, ASCII-escaped", async () => {
  const value = { b: [1, pyFloat(0.5), true, null, [], {}], a: { "z\u00e9\u{1f600}\"\\\n\u007f": "x\ty", "": 10n ** 30n }, A: -7 };
  const script = `import json\nprint(json.dumps({"b": [1, 0.5, True, None, [], {}], "a": {"z\\u00e9\\U0001f600\\"\\\\\\n\\x7f": "x\\ty", "": 10**30}, "A": -7}, indent=2, sort_keys=True), end="")`;
  expect(pythonJsonDumps(value)).toBe(await runPython("-c", [script]));
});

it("writes json.dumps(indent=4) as convert.py writes model.safetensors.index.json", async () => {
  const value = { metadata: { total_size: 12 }, weight_map: { a: "model-00001-of-00002.safetensors", b: "model-00002-of-00002.safetensors" } };
  const script = `import json\nprint(json.dumps({"metadata": {"total_size": 12}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}, indent=4), end="")`;
  expect(pythonJsonDumps(value, { indent: 4 })).toBe(await runPython("-c", [script]));
});

it("refuses a non-integer number not marked as a float, and non-finite floats", () => {
  expect(() => pythonJsonDumps(0.5)).toThrow("wrap floats in pyFloat()");
  expect(() => pythonFloatRepr(Number.NaN)).toThrow("non-standard literal");
});
