import { type Dtype, dtypeBytes, isDtype } from "../dtype.js";
import { TorchSaveError } from "./errors.js";

/** One storage: `numel` elements of one dtype, saved whole as the record `data/<index>`. */
export interface StorageSpec {
  readonly dtype: Dtype;
  readonly numel: number;
}

/** One state-dict entry, the arguments of `torch._utils._rebuild_tensor_v2`: a view of a storage. */
export interface TensorSpec {
  readonly name: string;
  readonly storage: number;
  readonly storageOffset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

/**
 * A plain `dict` of name -> tensor, in insertion order, as transformers' `shard_checkpoint` hands each
 * shard to torch.save. torch numbers storages by first use while pickling, so storage i must be
 * first used after storages 0..i-1; tensors naming one storage share it (tied weights).
 */
export interface StateDictSpec {
  readonly storages: readonly StorageSpec[];
  readonly tensors: readonly TensorSpec[];
}

/** The strides of a C-contiguous tensor, as c10 computes them (a 0-sized dim counts as 1). */
export function contiguousStride(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = step;
    step *= Math.max(shape[i]!, 1);
  }
  return stride;
}

/** The usual case: every tensor contiguous in a storage of its own, exactly its elements. */
export function contiguousStateDict(tensors: readonly { name: string; dtype: Dtype; shape: readonly number[] }[]): StateDictSpec {
  return {
    storages: tensors.map(({ dtype, shape }) => ({ dtype, numel: shape.reduce((a, b) => a * b, 1) })),
    tensors: tensors.map(({ name, shape }, storage) => ({ name, storage, storageOffset: 0, shape, stride: contiguousStride(shape) })),
  };
}

export function storageBytes(storage: StorageSpec): number {
  return storage.numel * dtypeBytes(storage.dtype);
}

/** Rejects a state dict torch could not have produced, naming the entry and what was expected. */
export function checkStateDict(spec: StateDictSpec, path: string): void {
  const fail = (message: string): never => {
    throw new TorchSaveError("SAVE_BAD_STATE_DICT", path, `${path}: ${message}`);
  };
  spec.storages.forEach((storage, i) => {
    if (!isDtype(storage.dtype)) fail(`storage ${i}: dtype ${JSON.stringify(storage.dtype)} is not one of F16 BF16 F32 F64 I64 I32 I16 I8 U8 BOOL`);
    if (!isCount(storage.numel)) fail(`storage ${i}: numel ${storage.numel} must be a whole number >= 0`);
    if (!Number.isSafeInteger(storageBytes(storage))) fail(`storage ${i}: ${storage.numel} elements are more bytes than this writer can address`);
  });
  const names = new Set<string>();
  let storagesSeen = 0;
  for (const tensor of spec.tensors) {
    const where = `tensor ${JSON.stringify(tensor.name)}`;
    if (typeof tensor.name !== "string" || Buffer.from(tensor.name, "utf8").toString("utf8") !== tensor.name) fail(`${where}: the name must be a string without lone surrogates (pickle stores it as UTF-8)`);
    if (names.has(tensor.name)) fail(`${where}: the name appears twice (a dict has each key once)`);
    names.add(tensor.name);
    if (tensor.storage === storagesSeen) storagesSeen++;
    else if (!(Number.isInteger(tensor.storage) && tensor.storage >= 0 && tensor.storage < storagesSeen)) {
      fail(`${where}: storage ${tensor.storage} must be one already used or the next one (${storagesSeen}), the order torch numbers them in`);
    }
    checkView(tensor, spec.storages[tensor.storage], fail, where);
  }
  if (storagesSeen !== spec.storages.length) fail(`${spec.storages.length} storages but only ${storagesSeen} are used by a tensor`);
}

function checkView(tensor: TensorSpec, storage: StorageSpec | undefined, fail: (message: string) => never, where: string): void {
  if (storage === undefined) return fail(`${where}: storage ${tensor.storage} does not exist`);
  if (!tensor.shape.every(isCount) || !tensor.stride.every(isCount) || !isCount(tensor.storageOffset)) {
    return fail(`${where}: shape, stride and storage offset must be whole numbers >= 0`);
  }
  if (tensor.shape.length !== tensor.stride.length) return fail(`${where}: shape has ${tensor.shape.length} dims but stride has ${tensor.stride.length}`);
  if (tensor.shape.includes(0)) return;
  const lastElement = tensor.shape.reduce((end, size, i) => end + (size - 1) * tensor.stride[i]!, tensor.storageOffset);
  if (!(lastElement < storage.numel)) return fail(`${where}: reaches element ${lastElement} of a storage of ${storage.numel}`);
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}
