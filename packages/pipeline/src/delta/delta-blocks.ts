import { InterruptedError } from "../errors.js";
import type { StoredTensor, TensorFile } from "../tensors/tensor-file.js";
import type { DeltaTensor } from "./delta-plan.js";
import { float32Blocks, type ParameterSum } from "./float32-blocks.js";
import { addFloat, floatBitsToHalfBits, HalfAddKernel, halfToNumber } from "./half-add.js";

/** Rows read per step: 4 MiB of each input, the memory a step holds whatever the model's size. */
export const DELTA_BLOCK_BYTES = 4 << 20;

interface Block {
  firstRow: number;
  rows: number;
}

/** The kernel for a run's float16 tensors: a block of DELTA_BLOCK_BYTES, or the largest row if longer. */
export function kernelFor(tensors: readonly DeltaTensor[], blockBytes = DELTA_BLOCK_BYTES): HalfAddKernel {
  const longestRow = Math.max(0, ...tensors.filter((t) => t.dtype === "F16").map((t) => t.base.tensor.rowBytes / 2));
  return new HalfAddKernel(Math.max(Math.floor(blockBytes / 2), longestRow));
}

/**
 * The tuned tensor's bytes, block of rows by block: the base's rows and the delta's read by pread
 * straight into the kernel's memory (the next block's reads already under way, into the other slot,
 * while this one is added and written), added as torch adds, yielded as a view of the kernel's
 * memory, valid until the next block is asked for. Rows the base gains ([PAD], add-delta-v0) are
 * zeros added to the delta's: 0 + x, which is x but for -0 (torch gives +0, and so does this).
 */
export async function* deltaTensorBlocks(tensor: DeltaTensor, kernel: HalfAddKernel, signal?: AbortSignal, blockBytes = DELTA_BLOCK_BYTES, sum?: ParameterSum): AsyncIterable<Uint8Array> {
  if (tensor.float32) {
    yield* float32Blocks(tensor, sum, signal, blockBytes);
    return;
  }
  if (tensor.dtype === "F32") {
    yield floatSum(await readWhole(tensor.base), tensor.delta ? await readWhole(tensor.delta) : undefined);
    return;
  }
  const { rows: baseRows, rowBytes } = tensor.base.tensor;
  const rowElements = rowBytes / 2;
  const totalRows = baseRows + tensor.padRows;
  const rowsPerBlock = Math.max(1, Math.floor(Math.min(blockBytes / 2, kernel.capacity) / rowElements));
  const blocks: Block[] = [];
  for (let firstRow = 0; firstRow < totalRows; firstRow += rowsPerBlock) blocks.push({ firstRow, rows: Math.min(rowsPerBlock, totalRows - firstRow) });
  let next = blocks.length > 0 ? readBlock(tensor, blocks[0]!, kernel, 0) : undefined;
  for (let i = 0; i < blocks.length; i++) {
    if (signal?.aborted) throw new InterruptedError([]);
    await next;
    next = i + 1 < blocks.length ? readBlock(tensor, blocks[i + 1]!, kernel, (i + 1) % 2) : undefined;
    const sum = kernel.add(i % 2, blocks[i]!.rows * rowElements);
    yield new Uint8Array(sum.buffer, sum.byteOffset, sum.byteLength);
  }
  await next;
}

/** A block's base rows (zeros past the base's last row) and delta rows, into a kernel slot. */
async function readBlock(tensor: DeltaTensor, { firstRow, rows }: Block, kernel: HalfAddKernel, slotIndex: number): Promise<void> {
  const slot = kernel.slot(slotIndex);
  const { file, tensor: stored } = tensor.base;
  const rowElements = stored.rowBytes / 2;
  const baseRows = Math.max(0, Math.min(rows, stored.rows - firstRow));
  const bytes = (view: Uint16Array) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  if (baseRows < rows) slot.a.fill(0, baseRows * rowElements, rows * rowElements);
  await Promise.all([
    baseRows > 0 ? file.readRowsInto(stored.name, firstRow, baseRows, bytes(slot.a)) : undefined,
    tensor.delta!.file.readRowsInto(tensor.delta!.tensor.name, firstRow, rows, bytes(slot.b)),
  ]);
}

const readWhole = ({ file, tensor }: { file: TensorFile; tensor: StoredTensor }) => file.readRows(tensor.name, 0, tensor.rows);

/** A float32 tensor (a rotary inv_freq buffer, a few hundred bytes): base + delta after float16. */
function floatSum(base: Uint8Array, delta: Uint8Array | undefined): Uint8Array {
  const a = new Float32Array(base.buffer, base.byteOffset, base.length / 4);
  throughHalf(a);
  if (delta) {
    const b = new Float32Array(delta.buffer, delta.byteOffset, delta.length / 4);
    throughHalf(b);
    addFloat(a, a, b);
  }
  return base;
}

/**
 * from_pretrained(torch_dtype=float16) casts every float tensor it loads to float16, then into the
 * float32 inv_freq buffer: the value goes through float16 and back before the add.
 */
function throughHalf(values: Float32Array): void {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) values[i] = halfToNumber(floatBitsToHalfBits(bits[i]!));
}
