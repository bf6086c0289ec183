import { describe, expect, it } from "vitest";
import { XorKernel, xorInto, xorshift32Bytes } from "./index.js";

describe("XorKernel (WebAssembly SIMD)", () => {
  it("XORs like the byte loop for every length around the 64-byte step and at unaligned offsets", () => {
    const kernel = new XorKernel(1 << 20);
    for (const length of [0, 1, 15, 16, 63, 64, 65, 127, 1000, 4096 + 3]) {
      for (const [data, key] of [[0, 65536], [3, 70001], [64, 200_017]] as const) {
        const plain = xorshift32Bytes(length + data, length);
        const keyBytes = xorshift32Bytes(length + key, length);
        kernel.bytes.set(plain, data);
        kernel.bytes.set(keyBytes, key);
        kernel.xor(data, key, length);
        const expected = plain.slice();
        xorInto(expected, keyBytes);
        expect(Buffer.compare(kernel.bytes.subarray(data, data + length), expected), `length ${length} at ${data}`).toBe(0);
      }
    }
  });

  it("lives in a SharedArrayBuffer that workers can read in place", () => {
    expect(new XorKernel(100).buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it("refuses ranges outside its memory instead of trapping", () => {
    const kernel = new XorKernel(65536);
    expect(() => kernel.xor(65530, 0, 10)).toThrow(RangeError);
  });
});
