import { dtypeBytes, dtypeOfStorageClass, dtypeOfTorchName, OTHER_STORAGE_CLASSES, OTHER_TORCH_DTYPES } from "../dtype.js";
import { GlobalRef, type GlobalRole, StorageRef, TensorRef } from "./torch-objects.js";
import { type PickleHost, PickleRefusal } from "./unpickler.js";
import { describeValue, PickleDict, PickleTuple, type PickleValue } from "./values.js";

const FIXED_GLOBALS: Record<string, GlobalRole> = {
  "collections.OrderedDict": { kind: "OrderedDict" },
  "torch._utils._rebuild_tensor_v2": { kind: "rebuildTensorV2" },
  "torch._utils._rebuild_tensor_v3": { kind: "rebuildTensorV3" },
  "torch._utils._rebuild_parameter": { kind: "rebuildParameter" },
  "torch.Size": { kind: "Size" },
  "torch.UntypedStorage": { kind: "storageType", dtype: "untyped" },
  "torch.storage.UntypedStorage": { kind: "storageType", dtype: "untyped" },
};

const ALLOWED_SUMMARY = "collections.OrderedDict, torch._utils._rebuild_tensor_v2/_v3, torch._utils._rebuild_parameter, torch.*Storage, torch dtypes and torch.Size";

/** The role of an allowed global; any other global is refused before anything could use it. */
export function globalRole(module: string, name: string): GlobalRole {
  const qualified = `${module}.${name}`;
  const fixed = FIXED_GLOBALS[qualified];
  if (fixed) return fixed;
  if (module === "torch") {
    const storageDtype = dtypeOfStorageClass(name);
    if (storageDtype) return { kind: "storageType", dtype: storageDtype };
    const dtype = dtypeOfTorchName(name);
    if (dtype) return { kind: "dtype", dtype };
    if (OTHER_STORAGE_CLASSES.includes(name) || OTHER_TORCH_DTYPES.includes(name)) {
      throw new PickleRefusal("UNSUPPORTED_DTYPE", `a ${qualified} tensor; safetensors output here covers F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL`);
    }
  }
  throw new PickleRefusal("FORBIDDEN_GLOBAL", `names the global ${qualified}, which no state dict needs; refused, nothing was run (allowed: ${ALLOWED_SUMMARY})`);
}

/**
 * The rules of torch.save's pickle for a state dict (torch/serialization.py `_load`, torch/_utils.py):
 * persistent ids `('storage', <storage type>, key, location, numel)`, tensors rebuilt from a storage,
 * offset, size and stride, parameters wrapping a tensor, OrderedDict state (`_metadata`) ignored.
 */
export class TorchPickleHost implements PickleHost {
  /** Every storage a persistent id named, by key. */
  readonly storages = new Map<string, StorageRef>();

  global(module: string, name: string): PickleValue {
    return new GlobalRef(`${module}.${name}`, globalRole(module, name));
  }

  reduce(callable: PickleValue, args: PickleTuple): PickleValue {
    if (!(callable instanceof GlobalRef)) throw new PickleRefusal("PICKLE_INVALID", `REDUCE calls ${describeValue(callable)}, not an allowed global`);
    const role = callable.role;
    switch (role.kind) {
      case "OrderedDict":
        if (args.items.length !== 0) throw new PickleRefusal("PICKLE_INVALID", `collections.OrderedDict called with ${describeValue(args)}; torch.save fills it with SETITEMS`);
        return new PickleDict(true);
      case "rebuildTensorV2": return rebuildTensor(args, 6, "torch._utils._rebuild_tensor_v2");
      case "rebuildTensorV3": return rebuildTensor(args, 7, "torch._utils._rebuild_tensor_v3");
      case "rebuildParameter": return rebuildParameter(args);
      case "Size": return size(args);
      default: throw new PickleRefusal("PICKLE_INVALID", `REDUCE calls ${callable.qualifiedName}, which torch.save only names, never calls`);
    }
  }

  persistentLoad(pid: PickleValue): PickleValue {
    const items = pid instanceof PickleTuple ? pid.items : [];
    const [tag, type, key, location, numel] = items;
    const role = type instanceof GlobalRef ? type.role : undefined;
    if (items.length !== 5 || tag !== "storage" || role?.kind !== "storageType" || typeof key !== "string" || typeof location !== "string") {
      throw new PickleRefusal("PICKLE_INVALID", `a persistent id that is ${describeValue(pid)}, not ('storage', <storage type>, key, location, numel)`);
    }
    const count = count64(numel ?? null, `storage ${JSON.stringify(key)}'s element count`);
    const bytes = role.dtype === "untyped" ? count : count * dtypeBytes(role.dtype);
    if (!Number.isSafeInteger(bytes)) throw new PickleRefusal("SIZE_OVERFLOW", `storage ${JSON.stringify(key)} declares ${count} elements, beyond 2^53 bytes`);
    const storage = new StorageRef(key, role.dtype, count, bytes);
    const seen = this.storages.get(key);
    if (!seen) return this.storages.set(key, storage).get(key)!;
    if (seen.dtype !== storage.dtype || seen.numel !== storage.numel) {
      throw new PickleRefusal("PICKLE_INVALID", `storage ${JSON.stringify(key)} is declared twice, as ${seen.numel} ${seen.dtype} and as ${count} ${storage.dtype}`);
    }
    return seen;
  }

  build(target: PickleValue, state: PickleValue): void {
    // nn.Module.state_dict() pickles its `_metadata` attribute (layer versions) as OrderedDict state.
    if (target instanceof PickleDict && state instanceof PickleDict) return;
    throw new PickleRefusal("PICKLE_INVALID", `BUILD sets ${describeValue(state)} on ${describeValue(target)}; only an OrderedDict's attributes are accepted`);
  }
}

function rebuildTensor(args: PickleTuple, arity: 6 | 7, name: string): TensorRef {
  const [storage, offset, shape, stride, , , ...rest] = args.items;
  if (!(storage instanceof StorageRef) || args.items.length < arity || args.items.length > arity + 1) {
    throw new PickleRefusal("PICKLE_INVALID", `${name} called with ${describeValue(args)}; expected (storage, offset, size, stride, requires_grad, hooks${arity === 7 ? ", dtype" : ""}[, metadata])`);
  }
  const dtypeArg = arity === 7 ? rest.shift() : undefined;
  let dtype = storage.dtype === "untyped" ? "U8" : storage.dtype;
  if (arity === 7) {
    if (!(dtypeArg instanceof GlobalRef) || dtypeArg.role.kind !== "dtype") throw new PickleRefusal("PICKLE_INVALID", `${name}'s dtype is ${describeValue(dtypeArg ?? null)}, not a torch dtype`);
    if (storage.dtype !== "untyped") throw new PickleRefusal("PICKLE_INVALID", `${name} with a typed storage; torch writes an UntypedStorage for it`);
    dtype = dtypeArg.role.dtype;
  }
  const metadata = rest[0];
  if (metadata !== undefined && !(metadata instanceof PickleDict && metadata.items().length === 0)) {
    throw new PickleRefusal("PICKLE_INVALID", `${name} with tensor metadata ${describeValue(metadata)}; only plain tensors are supported`);
  }
  return new TensorRef(storage, dtype, count64(offset ?? null, "a storage offset"), ints(shape ?? null, "a size"), ints(stride ?? null, "a stride"));
}

function rebuildParameter(args: PickleTuple): TensorRef {
  const [data] = args.items;
  if (args.items.length !== 3 || !(data instanceof TensorRef)) {
    throw new PickleRefusal("PICKLE_INVALID", `torch._utils._rebuild_parameter called with ${describeValue(args)}; expected (tensor, requires_grad, hooks)`);
  }
  return data;
}

function size(args: PickleTuple): PickleTuple {
  const [dims] = args.items;
  if (args.items.length !== 1) throw new PickleRefusal("PICKLE_INVALID", `torch.Size called with ${describeValue(args)}; expected one tuple`);
  return new PickleTuple(ints(dims ?? null, "a torch.Size"));
}

function ints(value: PickleValue, what: string): number[] {
  if (!(value instanceof PickleTuple)) throw new PickleRefusal("PICKLE_INVALID", `${what} that is ${describeValue(value)}, not a tuple of integers`);
  return value.items.map((item) => count64(item, `${what} entry`));
}

/** A non-negative integer that fits a JS number exactly. */
function count64(value: PickleValue, what: string): number {
  if (typeof value === "bigint" && value > 0n) throw new PickleRefusal("SIZE_OVERFLOW", `${what} is ${value}, beyond 2^53`);
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new PickleRefusal("PICKLE_INVALID", `${what} is ${describeValue(value)}, not a non-negative integer`);
  }
  return value;
}
