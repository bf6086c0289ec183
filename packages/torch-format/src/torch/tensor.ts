import type { Dtype } from "../dtype.js";

/** One entry of a state dict, as torch.load would rebuild it: a strided view of a storage. */
export interface TorchTensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** In elements, as torch counts them. */
  stride: number[];
  /** In elements of `dtype` from the start of the storage. */
  storageOffset: number;
  /** The storage's key: its bytes are the record `<archive>/data/<key>`. */
  storageKey: string;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

/** torch's `is_contiguous()`: C order, where dimensions of size 1 may have any stride. */
export function isContiguous(tensor: { shape: readonly number[]; stride: readonly number[] }): boolean {
  if (elementCount(tensor.shape) === 0) return true;
  let expected = 1;
  for (let i = tensor.shape.length - 1; i >= 0; i--) {
    const dim = tensor.shape[i]!;
    if (dim !== 1 && tensor.stride[i] !== expected) return false;
    expected *= dim;
  }
  return true;
}

/**
 * The byte range of its storage a tensor can touch: from its first element to just past its last
 * (the element at index size-1 in every dimension). Empty tensors touch nothing.
 */
export function storageSpan(tensor: { shape: readonly number[]; stride: readonly number[]; storageOffset: number }, itemBytes: number): { start: number; end: number } {
  const start = tensor.storageOffset * itemBytes;
  if (elementCount(tensor.shape) === 0) return { start, end: start };
  const last = tensor.shape.reduce((sum, dim, i) => sum + (dim - 1) * tensor.stride[i]!, tensor.storageOffset);
  return { start, end: (last + 1) * itemBytes };
}
