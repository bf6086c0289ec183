import { InterruptedError } from "../errors.js";
import type { DeltaTensor } from "./delta-plan.js";
import { floatBitsToHalfBits, type HalfAddKernel, halfSum, halfToNumber } from "./half-add.js";

/** How the deltas made so far come back when added to the base as FastChat adds. */
export interface RoundTrip {
  elements: number;
  /** Elements whose first delta (tuned ⊖ base) did not come back exactly, and got a neighbour that does. */
  nudged: number;
  /** Elements no float16 delta brings back exactly (a tuned value finer than the base's float16 step). */
  inexact: number;
}

/**
 * One tensor of `delta = tuned − base` in float16, block of rows by block, for `tensor` planned with
 * the tuned tensor as `base` and the base tensor as `delta`: FastChat's make_delta (`param.data -=
 * base`, the same rounding as adding the negated base). Each block is then added back to the base as
 * apply_delta adds it; where that does not give the tuned value, the delta's float16 neighbours are
 * tried and one that does is kept, so the published delta recovers the tuned model exactly wherever
 * a float16 delta can.
 */
export async function* makeDeltaBlocks(tensor: DeltaTensor, kernel: HalfAddKernel, trip: RoundTrip, signal?: AbortSignal, blockBytes = 4 << 20): AsyncIterable<Uint8Array> {
  const tuned = tensor.base;
  const base = tensor.delta!;
  if (tensor.dtype === "F32") {
    yield floatDelta(await tuned.file.readRows(tuned.tensor.name, 0, tuned.tensor.rows), await base.file.readRows(base.tensor.name, 0, base.tensor.rows), trip);
    return;
  }
  const rowElements = tuned.tensor.rowBytes / 2;
  const rowsPerBlock = Math.max(1, Math.floor(Math.min(blockBytes / 2, kernel.capacity) / rowElements));
  const [first, check] = [kernel.slot(0), kernel.slot(1)];
  const bytes = (view: Uint16Array) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let firstRow = 0; firstRow < tuned.tensor.rows; firstRow += rowsPerBlock) {
    if (signal?.aborted) throw new InterruptedError([]);
    const rows = Math.min(rowsPerBlock, tuned.tensor.rows - firstRow);
    const length = rows * rowElements;
    await Promise.all([tuned.file.readRowsInto(tuned.tensor.name, firstRow, rows, bytes(first.a)), base.file.readRowsInto(base.tensor.name, firstRow, rows, bytes(check.a))]);
    for (let i = 0; i < length; i++) first.b[i] = check.a[i]! ^ 0x8000;
    const delta = kernel.add(0, length);
    check.b.set(delta);
    const back = kernel.add(1, length);
    for (let i = 0; i < length; i++) if (back[i] !== first.a[i]) delta[i] = nudge(check.a[i]!, delta[i]!, first.a[i]!, trip);
    trip.elements += length;
    yield bytes(delta);
  }
}

/**
 * A rotary inv_freq buffer (float32, computed, the same in base and tuned): tuned − base in float32;
 * apply_delta sends both through float16 first, so a value that does not survive that is inexact.
 */
function floatDelta(tunedBytes: Uint8Array, baseBytes: Uint8Array, trip: RoundTrip): Uint8Array {
  const t = new Float32Array(tunedBytes.buffer, tunedBytes.byteOffset, tunedBytes.length / 4);
  const b = new Float32Array(baseBytes.buffer, baseBytes.byteOffset, baseBytes.length / 4);
  const d = new Float32Array(t.length);
  for (let i = 0; i < t.length; i++) {
    // What apply_delta adds is b through float16; the delta brings that to t.
    d[i] = t[i]! - throughHalf(b[i]!);
    if (Math.fround(throughHalf(b[i]!) + throughHalf(d[i]!)) !== t[i]) trip.inexact++;
  }
  trip.elements += t.length;
  return new Uint8Array(d.buffer);
}

const bits = new Float32Array(1);
const bitsView = new Uint32Array(bits.buffer);
const throughHalf = (value: number) => {
  bits[0] = value;
  return halfToNumber(floatBitsToHalfBits(bitsView[0]!));
};

/** A float16 delta next to `delta` that brings `base` back to `tuned` as torch adds, if either does. */
function nudge(base: number, delta: number, tuned: number, trip: RoundTrip): number {
  // One ulp either way (a step of the magnitude bits, within the sign), and for a zero the other zero
  // (-0 + -0 is the only sum that gives -0).
  const candidates = (delta & 0x7fff) === 0 ? [delta ^ 0x8000, delta + 1] : [delta + 1, delta - 1];
  for (const candidate of candidates) {
    // Only finite float16s (a step up from the largest one would be infinity).
    if ((candidate & 0x7fff) >= 0x7c00) continue;
    if (halfSum(base, candidate) === tuned) {
      trip.nudged++;
      return candidate;
    }
  }
  trip.inexact++;
  return delta;
}
