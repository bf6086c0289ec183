import { halfAddKernelWasm } from "./half-add-kernel.wasm.js";

/** The part of Node's WebAssembly global used here (@types/node 20 does not declare it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
const compiled = new wasm.Module(Buffer.from(halfAddKernelWasm, "base64"));

/**
 * float16 and float32 addition exactly as torch 1.13.1 computes `a += b` on the CPU (FastChat's
 * `param.data += delta`): each float16 is widened to float32, the two are added in float32 (rounded
 * to nearest, ties to even) and the float32 sum is rounded to float16 (nearest, ties to even;
 * c10::Half's fp16_ieee_from_fp32_value). Rounding twice is not the same as rounding the exact sum
 * once, so both roundings are made here, in that order.
 */

/** Every float16 bit pattern's value, as float32 (exactly representable). */
const HALF_TO_FLOAT = (() => {
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) table[bits] = halfBitsToNumber(bits);
  return table;
})();

function halfBitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** A float16's value. NaN payloads are not kept: a sum with a NaN is c10's canonical NaN anyway. */
export const halfToNumber = (bits: number): number => HALF_TO_FLOAT[bits & 0xffff]!;

/**
 * The float16 nearest to the float32 with bits `w` (ties to even), as fp16_ieee_from_fp32_value
 * rounds: overflow to infinity, NaN to 0x7E00 with the NaN's sign.
 */
export function floatBitsToHalfBits(w: number): number {
  const sign = (w >>> 16) & 0x8000;
  const exponent = (w >>> 23) & 0xff;
  const mantissa = w & 0x7fffff;
  if (exponent === 0xff) return sign | (mantissa !== 0 ? 0x7e00 : 0x7c00);
  const halfExponent = exponent - 112;
  if (halfExponent >= 31) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // A float16 subnormal (or zero): the full significand shifted down, rounded at the cut.
    const shift = 14 - halfExponent;
    if (shift > 24) return sign;
    const significand = mantissa | 0x800000;
    let half = significand >>> shift;
    const rest = significand & ((1 << shift) - 1);
    const tie = 1 << (shift - 1);
    if (rest > tie || (rest === tie && (half & 1) === 1)) half++;
    return sign | half;
  }
  // A carry out of the mantissa moves into the exponent, up to infinity (0x7C00): as the format wants.
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/**
 * The NaN torch's vectorized add gives (measured on x86-64): a NaN operand's sign, the second
 * operand's when both are NaN; inf + -inf is x86's default NaN, negative. c10 keeps no payload.
 * (torch's scalar tail takes the first operand's sign when both are NaN: the one case that differs,
 * and only when both weights are NaN.)
 */
function nanOfSum(a: number, b: number): number {
  if ((b & 0x7fff) > 0x7c00) return (b & 0x8000) | 0x7e00;
  if ((a & 0x7fff) > 0x7c00) return (a & 0x8000) | 0x7e00;
  return 0xfe00;
}

/** One float32 sum's bits: the store into a Float32Array is the float32 rounding. */
const sum32 = new Float32Array(1);
const sum32Bits = new Uint32Array(sum32.buffer);

/** a + b in float16 as torch computes it, one element (bits in, bits out). */
export function halfSum(a: number, b: number): number {
  sum32[0] = HALF_TO_FLOAT[a]! + HALF_TO_FLOAT[b]!;
  const w = sum32Bits[0]!;
  if ((w & 0x7f800000) === 0x7f800000 && (w & 0x7fffff) !== 0) return nanOfSum(a, b);
  return floatBitsToHalfBits(w);
}

/**
 * out[i] = a[i] + b[i] in float16 as torch does it (out may be a or b), through a kernel's memory.
 * The engine reads its rows straight into a kernel's memory instead (HalfAddKernel.slot).
 */
export function addHalf(out: Uint16Array, a: Uint16Array, b: Uint16Array): void {
  const length = out.length;
  if (a.length !== length || b.length !== length) throw new RangeError(`addHalf: ${a.length} + ${b.length} elements into ${length}`);
  sharedKernel ??= new HalfAddKernel(1 << 20, 1);
  const { a: ka, b: kb } = sharedKernel.slot(0);
  for (let start = 0; start < length; start += sharedKernel.capacity) {
    const end = Math.min(length, start + sharedKernel.capacity);
    ka.set(a.subarray(start, end));
    kb.set(b.subarray(start, end));
    out.set(sharedKernel.add(0, end - start), start);
  }
}

let sharedKernel: HalfAddKernel | undefined;

/** One slot's memory: the two inputs of a block and its sum, as float16 bits. */
export interface KernelSlot {
  a: Uint16Array;
  b: Uint16Array;
  out: Uint16Array;
}

/**
 * The WebAssembly SIMD kernel and its memory, in slots of `capacity` elements (two slots: one block
 * is read while the previous one is written): 8 elements a step in the kernel, and in scalar code the
 * steps it lists (a sum that is no float16 normal: subnormal, zero, overflow, NaN) and the last
 * elements of a block that are not a whole step.
 */
export class HalfAddKernel {
  private readonly slots: KernelSlot[] = [];
  private readonly listed: Uint32Array;
  private readonly addExport: (a: number, b: number, out: number, list: number, steps: number) => number;

  constructor(
    readonly capacity: number,
    slotCount = 2,
  ) {
    const slotBytes = Math.ceil((capacity * 6) / 16) * 16;
    // One i32 per step to list, and the one the kernel writes past the last listed.
    const bytes = slotBytes * slotCount + (Math.ceil(capacity / 8) + 1) * 4;
    const pages = Math.ceil(bytes / 65536);
    const memory = new wasm.Memory({ initial: pages, maximum: pages });
    const instance = new wasm.Instance(compiled, { env: { memory } });
    this.addExport = instance.exports.addHalf as HalfAddKernel["addExport"];
    for (let s = 0; s < slotCount; s++) {
      const at = s * slotBytes;
      this.slots.push({ a: new Uint16Array(memory.buffer, at, capacity), b: new Uint16Array(memory.buffer, at + capacity * 2, capacity), out: new Uint16Array(memory.buffer, at + capacity * 4, capacity) });
    }
    this.listed = new Uint32Array(memory.buffer, slotBytes * slotCount, Math.ceil(capacity / 8) + 1);
  }

  slot(index: number): KernelSlot {
    return this.slots[index]!;
  }

  /** out = a + b over the slot's first `length` elements; the sum, a view of the slot's out. */
  add(slotIndex: number, length: number): Uint16Array {
    if (length > this.capacity) throw new RangeError(`HalfAddKernel.add: ${length} elements in a slot of ${this.capacity}`);
    const { a, b, out } = this.slots[slotIndex]!;
    const steps = length >>> 3;
    const count = this.addExport(a.byteOffset, b.byteOffset, out.byteOffset, this.listed.byteOffset, steps);
    for (let n = 0; n < count; n++) {
      const step = this.listed[n]!;
      for (let i = step * 8; i < step * 8 + 8; i++) out[i] = halfSum(a[i]!, b[i]!);
    }
    for (let i = steps * 8; i < length; i++) out[i] = halfSum(a[i]!, b[i]!);
    return out.subarray(0, length);
  }
}

/** out[i] = a[i] + b[i] in float32 (a double sum of two float32s rounded once to float32 is exact IEEE addition). */
export function addFloat(out: Float32Array, a: Float32Array, b: Float32Array): void {
  const length = out.length;
  if (a.length !== length || b.length !== length) throw new RangeError(`addFloat: ${a.length} + ${b.length} elements into ${length}`);
  for (let i = 0; i < length; i++) out[i] = a[i]! + b[i]!;
}
