import { dtypeBytes } from "../dtype.js";
import { TorchFormatError } from "../errors.js";
import { TorchPickleHost } from "../pickle/torch-host.js";
import { TensorRef } from "../pickle/torch-objects.js";
import { unpickle } from "../pickle/unpickler.js";
import { describeValue, PickleDict, type PickleValue } from "../pickle/values.js";
import { storageRecordName } from "../zip/record-names.js";
import { elementCount, storageSpan, type TorchTensor } from "./tensor.js";

/** A state dict's tensors in pickle order, and the byte length of every storage the pickle names. */
export interface StateDict {
  tensors: TorchTensor[];
  storageBytes: Map<string, number>;
}

/**
 * Unpickles data.pkl and checks that it is what convert.py converts: a dict (or OrderedDict) of
 * tensors, or one holding such a dict under "state_dict" (bindings/python/convert.py `convert_file`),
 * every tensor inside its storage.
 */
export function readStateDict(pickle: Uint8Array, file: string, archive: string): StateDict {
  const host = new TorchPickleHost();
  let root = unpickle(pickle, host, file, `${archive}/data.pkl`);
  const nested = root instanceof PickleDict ? root.get("state_dict") : undefined;
  if (nested instanceof PickleDict) root = nested;
  if (!(root instanceof PickleDict)) {
    throw new TorchFormatError("PICKLE_INVALID", file, `${archive}/data.pkl holds ${describeValue(root)}, not a state dict (a dict of tensors)`);
  }
  const tensors = root.items().map(([name, value]) => checkedTensor(name, value, file, archive));
  return { tensors, storageBytes: new Map([...host.storages].map(([key, storage]) => [key, storage.byteLength])) };
}

function checkedTensor(name: PickleValue, value: PickleValue, file: string, archive: string): TorchTensor {
  if (typeof name !== "string") throw new TorchFormatError("PICKLE_INVALID", file, `the state dict has a key that is ${describeValue(name)}, not a tensor name`);
  if (!(value instanceof TensorRef)) {
    throw new TorchFormatError("PICKLE_INVALID", file, `state dict entry ${JSON.stringify(name)} is ${describeValue(value)}, not a tensor; only flat state dicts of tensors are converted`);
  }
  storageRecordName(archive, value.storage.key, file);
  const label = `tensor ${JSON.stringify(name)} (shape [${value.shape.join(", ")}], stride [${value.stride.join(", ")}], storage offset ${value.storageOffset})`;
  if (value.shape.length !== value.stride.length) {
    throw new TorchFormatError("PICKLE_INVALID", file, `${label} has ${value.shape.length} sizes but ${value.stride.length} strides`);
  }
  const itemBytes = dtypeBytes(value.dtype);
  const numel = elementCount(value.shape);
  const span = storageSpan(value, itemBytes);
  if (!Number.isSafeInteger(numel * itemBytes) || !Number.isSafeInteger(span.end)) {
    throw new TorchFormatError("SIZE_OVERFLOW", file, `${label} spans more than 2^53 bytes`);
  }
  if (numel > 0 && span.end > value.storage.byteLength) {
    throw new TorchFormatError("SIZE_MISMATCH", file, `${label} ends at byte ${span.end} of storage ${JSON.stringify(value.storage.key)}, which holds ${value.storage.byteLength} bytes`);
  }
  return {
    name,
    dtype: value.dtype,
    shape: [...value.shape],
    stride: [...value.stride],
    storageOffset: value.storageOffset,
    storageKey: value.storage.key,
  };
}
