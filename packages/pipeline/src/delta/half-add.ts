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

/** Scratch for the float32 sums of one block, reused (the engine adds one block at a time). */
let sums = new Float32Array(1 << 16);
let sumBits = new Uint32Array(sums.buffer);

/** out[i] = a[i] + b[i] in float16 as torch does it (out may be a or b). */
export function addHalf(out: Uint16Array, a: Uint16Array, b: Uint16Array): void {
  const length = out.length;
  if (a.length !== length || b.length !== length) throw new RangeError(`addHalf: ${a.length} + ${b.length} elements into ${length}`);
  if (sums.length < length) {
    sums = new Float32Array(length);
    sumBits = new Uint32Array(sums.buffer);
  }
  const table = HALF_TO_FLOAT;
  // Two passes: the float32 sums (the store into a Float32Array is the float32 rounding), then each
  // sum's bits rounded to float16.
  for (let i = 0; i < length; i++) sums[i] = table[a[i]!]! + table[b[i]!]!;
  for (let i = 0; i < length; i++) {
    const w = sumBits[i]!;
    const exponent = (w >>> 23) & 0xff;
    // The common case inline: a float16 normal, rounded at bit 13.
    if (exponent > 112 && exponent < 143) {
      const mantissa = w & 0x7fffff;
      let half = ((exponent - 112) << 10) | (mantissa >>> 13);
      const rest = mantissa & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
      out[i] = ((w >>> 16) & 0x8000) | half;
    } else if (exponent === 0xff && (w & 0x7fffff) !== 0) {
      out[i] = nanOfSum(a[i]!, b[i]!);
    } else {
      out[i] = floatBitsToHalfBits(w);
    }
  }
}

/** out[i] = a[i] + b[i] in float32 (a double sum of two float32s rounded once to float32 is exact IEEE addition). */
export function addFloat(out: Float32Array, a: Float32Array, b: Float32Array): void {
  const length = out.length;
  if (a.length !== length || b.length !== length) throw new RangeError(`addFloat: ${a.length} + ${b.length} elements into ${length}`);
  for (let i = 0; i < length; i++) out[i] = a[i]! + b[i]!;
}
