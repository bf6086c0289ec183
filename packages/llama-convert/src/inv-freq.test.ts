import { expect, it } from "vitest";
import { roundToFloat16, rotaryInvFreq, savedRotaryInvFreq } from "./inv-freq.js";
import { runPython } from "./test-support/python.js";

const HEAD_DIMS = [2, 8, 16, 32, 64, 80, 96, 100, 128, 160, 256];
const script = `import sys, torch
for hd in map(int, sys.argv[1:]):
    inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd))
    print(inv.numpy().tobytes().hex(), inv.half().float().numpy().tobytes().hex())`;
const fromTorch = runPython("-c", [script, ...HEAD_DIMS.map(String)]).then((out) => out.trim().split("\n").map((line) => line.split(" ").map((hex) => new Float32Array(new Uint8Array(Buffer.from(hex, "hex")).buffer))));
const bits = (values: Float32Array) => [...new Uint32Array(values.buffer)];

it("is bit-identical to torch 1.13.1's float32 inv_freq for head dim 128 (every LLaMA size) and the test sizes", async () => {
  const torch = await fromTorch;
  for (const headDim of [2, 8, 16, 32, 64, 128]) expect(bits(rotaryInvFreq(headDim)), `head dim ${headDim}`).toEqual(bits(torch[HEAD_DIMS.indexOf(headDim)]![0]!));
});

it("is within one float32 ulp of torch's Sleef powf for every head dim", async () => {
  const torch = await fromTorch;
  for (const [i, headDim] of HEAD_DIMS.entries()) {
    const ours = bits(rotaryInvFreq(headDim));
    for (const [j, want] of bits(torch[i]![0]!).entries()) expect(Math.abs(ours[j]! - want), `head dim ${headDim}[${j}]`).toBeLessThanOrEqual(1);
  }
});

it("is bit-identical to torch's .half().float(), the values the HF shards hold, for every head dim", async () => {
  const torch = await fromTorch;
  for (const [i, headDim] of HEAD_DIMS.entries()) expect(bits(savedRotaryInvFreq(headDim)), `head dim ${headDim}`).toEqual(bits(torch[i]![1]!));
});

it("rounds to float16 to nearest even, subnormals and overflow included", async () => {
  const values = [1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 65504, 65519, 65520, -0.1, 1e-8];
  const script16 = "import sys, torch\nprint(' '.join(repr(v) for v in torch.tensor([float(a) for a in sys.argv[1:]]).half().float().tolist()))";
  const want = (await runPython("-c", [script16, ...values.map(String)])).trim().split(" ").map((v) => Number(v.replace("inf", "Infinity")));
  expect(values.map((v) => roundToFloat16(Math.fround(v)))).toEqual(want);
});
