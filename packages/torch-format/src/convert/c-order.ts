import { elementCount } from "../torch/tensor.js";

/**
 * A strided view's elements in C order (what torch's `.contiguous()` makes), gathered from `span`,
 * the bytes of its storage from its first element to past its last. Rows of the last dimension are
 * copied element by element unless its stride is 1.
 */
export function gatherCOrder(span: Uint8Array, shape: readonly number[], stride: readonly number[], itemBytes: number): Uint8Array {
  const out = new Uint8Array(elementCount(shape) * itemBytes);
  if (out.length === 0) return out;
  const rank = shape.length;
  if (rank === 0) {
    out.set(span.subarray(0, itemBytes));
    return out;
  }
  const rowLength = shape[rank - 1]!;
  const rowStride = stride[rank - 1]! * itemBytes;
  const index = new Array<number>(rank - 1).fill(0);
  for (let written = 0; written < out.length; ) {
    let from = index.reduce((sum, i, dim) => sum + i * stride[dim]! * itemBytes, 0);
    if (rowStride === itemBytes) {
      out.set(span.subarray(from, from + rowLength * itemBytes), written);
      written += rowLength * itemBytes;
    } else {
      for (let j = 0; j < rowLength; j++, from += rowStride, written += itemBytes) out.set(span.subarray(from, from + itemBytes), written);
    }
    for (let dim = rank - 2; dim >= 0; dim--) {
      if (++index[dim]! < shape[dim]!) break;
      index[dim] = 0;
    }
  }
  return out;
}
