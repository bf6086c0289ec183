import { InterruptedError } from "../errors.js";
import type { DeltaTensor } from "./delta-plan.js";
import { addFloat, addHalf, floatBitsToHalfBits, halfToNumber } from "./half-add.js";

/** Rows read per step: 4 MiB of each input, the memory a step holds whatever the model's size. */
export const DELTA_BLOCK_BYTES = 4 << 20;

interface Block {
  firstRow: number;
  rows: number;
}

/**
 * The tuned tensor's bytes, block of rows by block: the base's rows and the delta's read by pread
 * (the next block's reads already under way while this one is added), added as torch adds, yielded.
 * Rows the base gains ([PAD], add-delta-v0) are zeros added to the delta's: 0 + x, which is x but
 * for -0 (torch gives +0, and so does this).
 */
export async function* deltaTensorBlocks(tensor: DeltaTensor, signal?: AbortSignal, blockBytes = DELTA_BLOCK_BYTES): AsyncIterable<Uint8Array> {
  const rowBytes = tensor.base.tensor.rowBytes;
  const totalRows = tensor.base.tensor.rows + tensor.padRows;
  const rowsPerBlock = Math.max(1, Math.floor(blockBytes / rowBytes));
  const blocks: Block[] = [];
  for (let firstRow = 0; firstRow < totalRows; firstRow += rowsPerBlock) blocks.push({ firstRow, rows: Math.min(rowsPerBlock, totalRows - firstRow) });
  let next = blocks.length > 0 ? readBlock(tensor, blocks[0]!) : undefined;
  for (let i = 0; i < blocks.length; i++) {
    if (signal?.aborted) throw new InterruptedError([]);
    const [base, delta] = await next!;
    next = i + 1 < blocks.length ? readBlock(tensor, blocks[i + 1]!) : undefined;
    yield add(tensor, base, delta);
  }
}

/** The base's rows (zeros past its last row) and the delta's, both as fresh buffers. */
async function readBlock(tensor: DeltaTensor, { firstRow, rows }: Block): Promise<[Uint8Array, Uint8Array | undefined]> {
  const { file, tensor: stored } = tensor.base;
  const baseRows = Math.max(0, Math.min(rows, stored.rows - firstRow));
  const baseRead = baseRows > 0 ? file.readRows(stored.name, firstRow, baseRows) : Promise.resolve(new Uint8Array(0));
  const deltaRead = tensor.delta ? tensor.delta.file.readRows(tensor.delta.tensor.name, firstRow, rows) : Promise.resolve(undefined);
  const [base, delta] = await Promise.all([baseRead, deltaRead]);
  if (baseRows === rows) return [base, delta];
  const padded = new Uint8Array(rows * stored.rowBytes);
  padded.set(base);
  return [padded, delta];
}

function add(tensor: DeltaTensor, base: Uint8Array, delta: Uint8Array | undefined): Uint8Array {
  if (tensor.dtype === "F16") {
    const a = new Uint16Array(base.buffer, base.byteOffset, base.length / 2);
    addHalf(a, a, new Uint16Array(delta!.buffer, delta!.byteOffset, delta!.length / 2));
    return base;
  }
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
