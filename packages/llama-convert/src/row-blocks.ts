import { ConvertError } from "./errors.js";
import { savedRotaryInvFreq } from "./inv-freq.js";
import type { ConvertGeometry, PlannedTensor } from "./tensor-plan.js";

/**
 * Reads rows of the original tensors, e.g. by pread from the consolidated.NN.pth records. A 1-D
 * tensor is one row. Returns exactly rowCount rows, C order, in the original dtype (float16).
 */
export interface OriginalRowReader {
  readRows(shard: number, name: string, firstRow: number, rowCount: number): Promise<Uint8Array>;
}

/** Output bytes per block: memory stays near twice this, whatever the tensor's size. */
export const DEFAULT_BLOCK_BYTES = 4 << 20;

/**
 * The bytes of one HF tensor in C order, one block of whole rows at a time, made from the originals
 * as `planTensors` describes. A dim-1 merge reads the same rows from every shard at once and
 * interleaves them. The next block's reads are in flight while a block is made and consumed, so
 * memory stays near three times `blockBytes` (a block in hand, its output, the next one's input).
 */
export async function* hfTensorBlocks(tensor: PlannedTensor, geometry: ConvertGeometry, reader: OriginalRowReader, blockBytes = DEFAULT_BLOCK_BYTES): AsyncIterable<Uint8Array> {
  const { source } = tensor;
  if (source.kind === "rotary-inv-freq") return yield new Uint8Array(savedRotaryInvFreq(geometry.headDim).buffer);
  const shape = tensor.originalShape!;
  const rowBytes = (shape.length === 1 ? shape[0]! : shape[1]!) * 2;
  const read = async (shard: number, first: number, count: number) => {
    const bytes = await reader.readRows(shard, source.original, first, count);
    if (bytes.length !== count * rowBytes) {
      throw new ConvertError("ROWS_INVALID", source.original, `${source.original} in shard ${shard}: rows ${first}..${first + count - 1} should be ${count * rowBytes} bytes (${rowBytes} a row) but the reader returned ${bytes.length}`);
    }
    return bytes;
  };
  const blocks = rowBlocks(tensor, geometry, blockBytes);
  const fetch = (block: RowBlock) => {
    const pieces = Promise.all(block.shards.map((shard) => read(shard, block.first, block.count)));
    // Awaited in turn below; handled now so that a consumer that stops early leaves no unhandled rejection.
    pieces.catch(() => undefined);
    return pieces;
  };
  let next = blocks.length > 0 ? fetch(blocks[0]!) : undefined;
  for (const [i, block] of blocks.entries()) {
    const pieces = await next!;
    next = i + 1 < blocks.length ? fetch(blocks[i + 1]!) : undefined;
    if (source.kind === "join-columns") yield interleaveRows(pieces, block.count, rowBytes);
    else yield source.kind === "stack-rows" && source.rotary ? permuteRotaryHeads(pieces[0]!, geometry.headDim, rowBytes) : pieces[0]!;
  }
}

/** Rows [first, first + count) of the original in each of `shards`, making one block of output. */
interface RowBlock {
  shards: number[];
  first: number;
  count: number;
}

/**
 * The blocks of a tensor in output order: shard 0's norm; for a dim-1 merge the same rows of every
 * shard; for stacked rows each shard's rows in turn, rotary blocks holding whole heads.
 */
function rowBlocks(tensor: PlannedTensor, geometry: ConvertGeometry, blockBytes: number): RowBlock[] {
  const shape = tensor.originalShape!;
  const rows = shape.length === 1 ? 1 : shape[0]!;
  const rowBytes = (shape.length === 1 ? shape[0]! : shape[1]!) * 2;
  const { source } = tensor;
  const every = Array.from({ length: geometry.shards }, (_, shard) => shard);
  const blocks: RowBlock[] = [];
  if (source.kind === "first-shard") return [{ shards: [0], first: 0, count: 1 }];
  if (source.kind === "join-columns") {
    const perBlock = Math.max(1, Math.floor(blockBytes / (rowBytes * geometry.shards)));
    for (let first = 0; first < rows; first += perBlock) blocks.push({ shards: every, first, count: Math.min(perBlock, rows - first) });
    return blocks;
  }
  const unit = source.kind === "stack-rows" && source.rotary ? geometry.headDim : 1;
  const perBlock = Math.max(1, Math.floor(blockBytes / rowBytes / unit)) * unit;
  for (const shard of every) {
    for (let first = 0; first < rows; first += perBlock) blocks.push({ shards: [shard], first, count: Math.min(perBlock, rows - first) });
  }
  return blocks;
}

/** Rows of a dim-1 merge: row r is shard 0's row r, then shard 1's, ... */
function interleaveRows(pieces: readonly Uint8Array[], rows: number, pieceBytes: number): Uint8Array {
  const out = new Uint8Array(rows * pieceBytes * pieces.length);
  for (let row = 0; row < rows; row++) {
    for (const [shard, piece] of pieces.entries()) {
      out.set(piece.subarray(row * pieceBytes, (row + 1) * pieceBytes), (row * pieces.length + shard) * pieceBytes);
    }
  }
  return out;
}

/**
 * The rotary permutation on whole heads: `view(heads, head_dim/2, 2, dim).transpose(1, 2)` puts the
 * head's output row k*half + i at its input row 2*i + k (k = 0, 1).
 */
export function permuteRotaryHeads(block: Uint8Array, headDim: number, rowBytes: number): Uint8Array {
  const out = new Uint8Array(block.length);
  const half = headDim / 2;
  const heads = block.length / (rowBytes * headDim);
  for (let head = 0; head < heads; head++) {
    for (let k = 0; k < 2; k++) {
      for (let i = 0; i < half; i++) {
        const from = (head * headDim + 2 * i + k) * rowBytes;
        out.set(block.subarray(from, from + rowBytes), (head * headDim + k * half + i) * rowBytes);
      }
    }
  }
  return out;
}
