import { InterruptedError } from "../errors.js";
import type { DeltaTensor } from "./delta-plan.js";
import { halfToNumber } from "./half-add.js";

/** The running sum of every recovered parameter, for weight_diff.py's integrity check. */
export interface ParameterSum {
  value: number;
}

/**
 * A tensor of weight_diff.py's math (Alpaca, WizardLM), block of rows by block: the base's rows
 * widened to float32 (exact), the [PAD] row the column mean of the base's rows, plus the diff's
 * float32 rows, each sum rounded once to float32 as torch's add_ does. Every value is also added to
 * `sum` (in float64). The mean is torch's `mean(dim=0)` of float32 rows, whose summation order torch
 * does not specify: here the exact mean rounded once, which can differ from torch's in the last bit.
 */
export async function* float32Blocks(tensor: DeltaTensor, sum: ParameterSum | undefined, signal: AbortSignal | undefined, blockBytes: number): AsyncIterable<Uint8Array> {
  const { file, tensor: stored } = tensor.base;
  const rowElements = stored.rowBytes / (stored.dtype === "F16" ? 2 : 4);
  const totalRows = stored.rows + tensor.padRows;
  const mean = tensor.padRows > 0 ? await columnMean(tensor, blockBytes) : undefined;
  const rowsPerBlock = Math.max(1, Math.floor(blockBytes / 4 / rowElements));
  for (let firstRow = 0; firstRow < totalRows; firstRow += rowsPerBlock) {
    if (signal?.aborted) throw new InterruptedError([]);
    const rows = Math.min(rowsPerBlock, totalRows - firstRow);
    const baseRows = Math.max(0, Math.min(rows, stored.rows - firstRow));
    const out = new Float32Array(rows * rowElements);
    if (baseRows > 0) widenInto(out, await file.readRows(stored.name, firstRow, baseRows), stored.dtype);
    for (let row = baseRows; row < rows; row++) out.set(mean!, row * rowElements);
    if (tensor.delta) {
      const diff = await tensor.delta.file.readRows(tensor.delta.tensor.name, firstRow, rows);
      const d = new Float32Array(diff.buffer, diff.byteOffset, out.length);
      for (let i = 0; i < out.length; i++) out[i] = out[i]! + d[i]!;
    }
    if (sum) {
      let blockSum = 0;
      for (let i = 0; i < out.length; i++) blockSum += out[i]!;
      sum.value += blockSum;
    }
    yield new Uint8Array(out.buffer);
  }
}

function widenInto(out: Float32Array, bytes: Uint8Array, dtype: string): void {
  if (dtype === "F32") {
    out.set(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
    return;
  }
  const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  for (let i = 0; i < halves.length; i++) out[i] = halfToNumber(halves[i]!);
}

/** The mean of the base's rows (smart_tokenizer_and_embedding_resize's new rows), in one read of them. */
async function columnMean(tensor: DeltaTensor, blockBytes: number): Promise<Float32Array> {
  const { file, tensor: stored } = tensor.base;
  const rowElements = stored.rowBytes / (stored.dtype === "F16" ? 2 : 4);
  const sums = new Float64Array(rowElements);
  const rowsPerBlock = Math.max(1, Math.floor(blockBytes / stored.rowBytes));
  for (let firstRow = 0; firstRow < stored.rows; firstRow += rowsPerBlock) {
    const rows = Math.min(rowsPerBlock, stored.rows - firstRow);
    const values = new Float32Array(rows * rowElements);
    widenInto(values, await file.readRows(stored.name, firstRow, rows), stored.dtype);
    for (let i = 0; i < values.length; i++) sums[i % rowElements] = sums[i % rowElements]! + values[i]!;
  }
  return Float32Array.from(sums, (total) => total / stored.rows);
}
