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

/**
 * The mean of the base's rows (smart_tokenizer_and_embedding_resize's new row), in one read of them,
 * as torch 1.13.1 computes `mean(dim=0)` of float32 rows on the CPU: the column sums by its cascade
 * sum (SumKernel.cpp multi_row_sum: float32 accumulators on 4 levels, 2^max(4, ceil(log2 n) / 4)
 * rows per level-0 run, each level emptied into the next), then divided by the row count in float32.
 * Bit-identical with torch on the shapes tested; torch does not promise that order, hence the check.
 */
async function columnMean(tensor: DeltaTensor, blockBytes: number): Promise<Float32Array> {
  const { file, tensor: stored } = tensor.base;
  const rowElements = stored.rowBytes / (stored.dtype === "F16" ? 2 : 4);
  const sum = new CascadeSum(rowElements, stored.rows);
  const rowsPerBlock = Math.max(1, Math.floor(blockBytes / stored.rowBytes));
  for (let firstRow = 0; firstRow < stored.rows; firstRow += rowsPerBlock) {
    const rows = Math.min(rowsPerBlock, stored.rows - firstRow);
    const values = new Float32Array(rows * rowElements);
    widenInto(values, await file.readRows(stored.name, firstRow, rows), stored.dtype);
    for (let row = 0; row < rows; row++) sum.addRow(values.subarray(row * rowElements, (row + 1) * rowElements));
  }
  return sum.total().map((total) => total / stored.rows);
}

const LEVELS = 4;

/** torch's multi_row_sum, one row at a time (the rows must be given in order, all `size` of them). */
class CascadeSum {
  private readonly levels: Float32Array[];
  private readonly levelPower: number;
  private readonly fullRuns: number;
  private row = 0;

  constructor(columns: number, private readonly size: number) {
    this.levels = Array.from({ length: LEVELS }, () => new Float32Array(columns));
    this.levelPower = Math.max(4, Math.floor(Math.ceil(Math.log2(size)) / LEVELS));
    // Rows past the last whole run of 2^levelPower go straight into level 0 and stay there.
    this.fullRuns = Math.floor(size / (1 << this.levelPower)) << this.levelPower;
  }

  addRow(values: Float32Array): void {
    const first = this.levels[0]!;
    for (let k = 0; k < first.length; k++) first[k] = first[k]! + values[k]!;
    this.row++;
    if (this.row > this.fullRuns || (this.row & ((1 << this.levelPower) - 1)) !== 0) return;
    for (let j = 1; j < LEVELS; j++) {
      const lower = this.levels[j - 1]!;
      const upper = this.levels[j]!;
      for (let k = 0; k < upper.length; k++) upper[k] = upper[k]! + lower[k]!;
      lower.fill(0);
      if ((this.row & (((1 << this.levelPower) - 1) << (j * this.levelPower))) !== 0) break;
    }
  }

  total(): Float32Array {
    if (this.row !== this.size) throw new Error(`CascadeSum: ${this.row} rows added of ${this.size}`);
    const result = this.levels[0]!;
    for (let j = 1; j < LEVELS; j++) for (let k = 0; k < result.length; k++) result[k] = result[k]! + this.levels[j]![k]!;
    return result;
  }
}
