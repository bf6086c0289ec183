import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pythonOk } from "../test-support/torch.js";
import { addFloat, addHalf, floatBitsToHalfBits, halfToNumber } from "./half-add.js";

const TORCH_ADD = new URL("../test-support/torch_add.py", import.meta.url).pathname;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "half-add-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A seeded xorshift32: the same "random" operands in every run. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

async function torchAdd<T extends Uint16Array | Float32Array>(dtype: "float16" | "float32", a: T, b: T): Promise<Uint8Array> {
  const [fa, fb, fo] = ["a", "b", "out"].map((name) => join(dir, `${dtype}-${name}`)) as [string, string, string];
  await writeFile(fa, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  await writeFile(fb, new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  await pythonOk(TORCH_ADD, [dtype, fa, fb, fo]);
  return new Uint8Array(await readFile(fo));
}

const isHalfNaN = (bits: number) => (bits & 0x7fff) > 0x7c00;

/** Edge float16 patterns: zeros, subnormals, the normal boundaries, the largest finite, infinities, NaNs. */
const HALF_EDGES = [0x0000, 0x8000, 0x0001, 0x8001, 0x0002, 0x03ff, 0x83ff, 0x0400, 0x8400, 0x0401, 0x3bff, 0x3c00, 0xbc00, 0x3c01, 0x7bfe, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0xfe00, 0x7c01, 0xfd00];

describe("float16 addition against torch 1.13.1 (`a += b` on the CPU)", () => {
  it("gives torch's bits for every float16 plus each edge value and 40 random ones (2.6M sums)", async () => {
    const next = random(15);
    const others = [...HALF_EDGES, ...Array.from({ length: 40 }, () => next() & 0xffff)];
    const a = new Uint16Array(65536 * others.length);
    const b = new Uint16Array(a.length);
    others.forEach((other, j) => {
      for (let bits = 0; bits < 65536; bits++) {
        a[j * 65536 + bits] = bits;
        b[j * 65536 + bits] = other;
      }
    });
    await expectTorchBits(a, b);
  }, 120_000);

  it("gives torch's bits for 4M random pairs (SIMD steps and the scalar tail), and for pairs of nearby magnitude whose float32 sum rounds twice", async () => {
    const next = random(2023);
    // 3 short of a multiple of 8: the kernel's last elements go through the scalar code too.
    const a = new Uint16Array((1 << 22) - 3);
    const b = new Uint16Array(a.length);
    for (let i = 0; i < a.length; i++) {
      a[i] = next() & 0xffff;
      // Half of the pairs share sign and exponent neighbourhood with a: the sums that carry and tie.
      b[i] = i % 2 === 0 ? next() & 0xffff : (a[i]! & 0xfc00) ^ ((next() & 0x0fff) << 0);
    }
    await expectTorchBits(a, b);
  }, 120_000);

  it("rounds float32 to float16 to nearest, ties to even, with overflow to infinity", () => {
    const bitsOf = (value: number) => new Uint32Array(new Float32Array([value]).buffer)[0]!;
    expect(floatBitsToHalfBits(bitsOf(1 + 2 ** -11))).toBe(0x3c00);
    expect(floatBitsToHalfBits(bitsOf(1 + 3 * 2 ** -11))).toBe(0x3c02);
    expect(floatBitsToHalfBits(bitsOf(65520))).toBe(0x7c00);
    expect(floatBitsToHalfBits(bitsOf(65519))).toBe(0x7bff);
    expect(floatBitsToHalfBits(bitsOf(2 ** -25))).toBe(0x0000);
    expect(floatBitsToHalfBits(bitsOf(2 ** -25 + 2 ** -40))).toBe(0x0001);
    expect(halfToNumber(0x0001)).toBe(2 ** -24);
  });
});

async function expectTorchBits(a: Uint16Array, b: Uint16Array): Promise<void> {
  const torch = new Uint16Array((await torchAdd("float16", a, b)).buffer.slice(0));
  const ours = new Uint16Array(a.length);
  addHalf(ours, a, b);
  // The one documented difference: when both operands are NaN, torch's scalar tail keeps the first
  // one's sign and its vector loop the second's; such pairs are compared as "a NaN".
  let compared = 0;
  for (let i = 0; i < a.length; i++) {
    if (isHalfNaN(a[i]!) && isHalfNaN(b[i]!)) {
      expect(isHalfNaN(ours[i]!)).toBe(true);
      continue;
    }
    if (ours[i] !== torch[i]) expect.fail(`0x${a[i]!.toString(16)} + 0x${b[i]!.toString(16)}: ours 0x${ours[i]!.toString(16)}, torch 0x${torch[i]!.toString(16)}`);
    compared++;
  }
  expect(compared).toBeGreaterThan(a.length * 0.99);
}

describe("float32 addition against torch 1.13.1", () => {
  it("gives torch's bits for 1M random float32 pairs, edge values included", async () => {
    const next = random(7);
    const a = new Uint32Array(1 << 20);
    const b = new Uint32Array(a.length);
    const edges = [0, 0x80000000, 1, 0x80000001, 0x007fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x3f800000];
    for (let i = 0; i < a.length; i++) {
      a[i] = i < edges.length * edges.length ? edges[Math.floor(i / edges.length)]! : next();
      b[i] = i < edges.length * edges.length ? edges[i % edges.length]! : i % 2 === 0 ? next() : (a[i]! & 0xff800000) | (next() & 0x7fffff);
    }
    // NaN operands aside (V8 does not keep NaN payloads): every sum of numbers is compared.
    const isNaN32 = (w: number) => (w & 0x7fffffff) > 0x7f800000;
    for (let i = 0; i < a.length; i++) {
      if (isNaN32(a[i]!)) a[i] = 0x3f800000;
      if (isNaN32(b[i]!)) b[i] = 0x40000000;
    }
    const fa = new Float32Array(a.buffer);
    const fb = new Float32Array(b.buffer);
    const torch = new Uint32Array((await torchAdd("float32", fa, fb)).buffer.slice(0));
    const ours = new Float32Array(a.length);
    addFloat(ours, fa, fb);
    const oursBits = new Uint32Array(ours.buffer);
    let differing = 0;
    for (let i = 0; i < a.length; i++) if (oursBits[i] !== torch[i] && !(isNaN32(oursBits[i]!) && isNaN32(torch[i]!))) differing++;
    expect(differing).toBe(0);
  }, 60_000);
});
