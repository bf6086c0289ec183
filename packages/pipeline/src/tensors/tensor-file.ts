import type { FileHandle } from "node:fs/promises";
import { type FileIdentity, identityOf, openRegularFile, sameIdentity } from "@model-recover/safe-fs";
import { type Dtype, dtypeBytes, isContiguous, readSafetensorsHeader, readTorchCheckpoint, type TorchTensor } from "@model-recover/torch-format";
import { InputError } from "../errors.js";

/**
 * One tensor of a checkpoint file, as rows along its first dimension: a row of a [32000, 4096]
 * matrix is 4096 elements; a 1-D or 0-D tensor is a single row. `offset` is where its first byte is
 * in the file; a strided view has none and is refused when read.
 */
export interface StoredTensor {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly rows: number;
  readonly rowBytes: number;
  readonly offset: number | undefined;
  readonly stride?: readonly number[];
}

/**
 * A checkpoint opened for reading rows of its tensors by pread: a torch.save zip (`.pth`, `.bin`) or
 * a safetensors file, told apart by their first bytes. It is opened once, as a regular file (a FIFO
 * is refused at once, never waited on), and every read goes through that descriptor.
 */
export class TensorFile {
  private readonly byName: Map<string, StoredTensor>;

  private constructor(
    readonly path: string,
    readonly format: "torch" | "safetensors",
    private readonly handle: FileHandle,
    private readonly identity: FileIdentity,
    /** In the file's own order (state-dict order for torch.save). */
    readonly tensors: readonly StoredTensor[],
  ) {
    this.byName = new Map(tensors.map((t) => [t.name, t]));
  }

  static async open(path: string, what = "checkpoint"): Promise<TensorFile> {
    const { handle, info } = await openRegularFile(path, what);
    try {
      const start = new Uint8Array(9);
      await handle.read(start, 0, 9, 0);
      // safetensors: an 8-byte length, then JSON; a torch.save zip starts "PK", a legacy pickle 0x80.
      const format = start[8] === 0x7b ? "safetensors" : "torch";
      const tensors = format === "torch" ? await torchTensors(path, handle) : await safetensorsTensors(path, handle);
      return new TensorFile(path, format, handle, identityOf(info), tensors);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  tensor(name: string): StoredTensor | undefined {
    return this.byName.get(name);
  }

  /** Rows [firstRow, firstRow + rowCount) of `name`, C order, exactly rowCount * rowBytes bytes. */
  async readRows(name: string, firstRow: number, rowCount: number): Promise<Uint8Array> {
    const tensor = this.byName.get(name);
    // Filled to the last byte, or refused: no need to zero it first.
    return this.readRowsInto(name, firstRow, rowCount, Buffer.allocUnsafe(rowCount * (tensor?.rowBytes ?? 0)));
  }

  /** As readRows, into the first rowCount * rowBytes bytes of `target` (memory a kernel works in). */
  async readRowsInto(name: string, firstRow: number, rowCount: number, target: Uint8Array): Promise<Uint8Array> {
    const tensor = this.byName.get(name);
    if (!tensor) throw new InputError("TENSOR_MISSING", `${this.path}: has no tensor ${JSON.stringify(name)}`);
    if (tensor.offset === undefined) {
      throw new InputError("TENSOR_NOT_CONTIGUOUS", `${this.path}: tensor ${JSON.stringify(name)} is a strided view (shape [${tensor.shape.join(", ")}], stride [${tensor.stride?.join(", ")}]); only contiguous tensors are read: save the checkpoint again with .contiguous() tensors`);
    }
    if (!(Number.isSafeInteger(firstRow) && Number.isSafeInteger(rowCount) && firstRow >= 0 && rowCount >= 0 && firstRow + rowCount <= tensor.rows)) {
      throw new RangeError(`${this.path}: rows ${firstRow}..${firstRow + rowCount - 1} of ${name}, which has ${tensor.rows}`);
    }
    if (target.length < rowCount * tensor.rowBytes) throw new RangeError(`${this.path}: ${rowCount} rows of ${name} into ${target.length} bytes`);
    const bytes = target.subarray(0, rowCount * tensor.rowBytes);
    const at = tensor.offset + firstRow * tensor.rowBytes;
    for (let filled = 0; filled < bytes.length; ) {
      const { bytesRead } = await this.handle.read(bytes, filled, bytes.length - filled, at + filled);
      if (bytesRead === 0) throw new InputError("INPUT_CHANGED", `${this.path}: ends at byte ${at + filled}, inside tensor ${name}; the file shrank while being read (is it still being copied?)`);
      filled += bytesRead;
    }
    return bytes;
  }

  /** Throws if the file is no longer the one opened (written to, truncated, replaced in place). */
  async checkUnchanged(): Promise<void> {
    const now = identityOf(await this.handle.stat());
    if (!sameIdentity(now, this.identity)) {
      throw new InputError("INPUT_CHANGED", `${this.path}: changed while being read (${this.identity.size} bytes then, ${now.size} now, or modified); what was made from it cannot be trusted: run again once nothing writes to it`);
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

function rowsOf(name: string, dtype: Dtype, shape: readonly number[], offset: number | undefined, stride?: readonly number[]): StoredTensor {
  const rowElements = shape.slice(1).reduce((a, b) => a * b, 1);
  const [rows, rowLength] = shape.length <= 1 ? [1, shape[0] ?? 1] : [shape[0]!, rowElements];
  return { name, dtype, shape, rows, rowBytes: rowLength * dtypeBytes(dtype), offset, ...(stride ? { stride } : {}) };
}

async function torchTensors(path: string, handle: FileHandle): Promise<StoredTensor[]> {
  const checkpoint = await readTorchCheckpoint(path, { handle });
  const storages = new Map(checkpoint.storages.map((s) => [s.key, s.dataOffset]));
  return checkpoint.tensors.map((t: TorchTensor) => {
    const offset = isContiguous(t) ? storages.get(t.storageKey)! + t.storageOffset * dtypeBytes(t.dtype) : undefined;
    return rowsOf(t.name, t.dtype, t.shape, offset, t.stride);
  });
}

async function safetensorsTensors(path: string, handle: FileHandle): Promise<StoredTensor[]> {
  const header = await readSafetensorsHeader(path, { handle });
  return header.tensors.map((t) => rowsOf(t.name, t.dtype, t.shape, header.dataStart + t.dataOffsets[0]));
}
