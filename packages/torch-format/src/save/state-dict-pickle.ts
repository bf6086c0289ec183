import { storageClassOf } from "../dtype.js";
import { PickleWriter } from "./pickle-writer.js";
import type { StateDictSpec } from "./state-dict.js";

/** CPython's pickler writes a dict's items in batches of this many (`_BATCHSIZE` / `BATCHSIZE`). */
const BATCH_SIZE = 1000;

/**
 * The `data.pkl` record of torch.save(state_dict) in torch 1.13.1, pickle protocol 2: the dict, each
 * tensor reduced to `_rebuild_tensor_v2(storage, storage_offset, size, stride, False, OrderedDict())`
 * and each storage a persistent id `('storage', torch.<Type>Storage, '<key>', 'cpu', numel)`
 * (torch/serialization.py `_save`, torch/_tensor.py `_reduce_ex_internal`).
 */
export function pickleStateDict(spec: StateDictSpec): Uint8Array {
  const p = new PickleWriter();
  p.proto(2).op("EMPTY_DICT").put();
  const saveTensor = tensorPickler(p, spec);
  const count = spec.tensors.length;
  if (count === 1) {
    // _pickle.c batch_dict_exact special-cases a dict of one item: SETITEM without a MARK.
    saveTensor(0);
    p.op("SETITEM");
  } else if (count > 1) {
    // Batches of 1000 under MARK..SETITEMS; a batch that came out full is followed by another, so a
    // dict of exactly k*1000 items ends with an empty MARK SETITEMS.
    let next = 0;
    let batch = BATCH_SIZE;
    while (batch === BATCH_SIZE) {
      p.op("MARK");
      batch = Math.min(BATCH_SIZE, count - next);
      for (const end = next + batch; next < end; next++) saveTensor(next);
      p.op("SETITEMS");
    }
  }
  return p.op("STOP").bytes();
}

function tensorPickler(p: PickleWriter, spec: StateDictSpec): (index: number) => void {
  const memo = new Map<string, number>();
  const memoized = (key: string, make: () => number) => {
    const slot = memo.get(key);
    if (slot === undefined) memo.set(key, make());
    else p.get(slot);
  };
  return (index) => {
    const tensor = spec.tensors[index]!;
    const storage = spec.storages[tensor.storage]!;
    p.string(tensor.name);
    memoized("rebuild", () => p.global("torch._utils", "_rebuild_tensor_v2"));
    p.op("MARK");
    // The persistent id tuple: a new tuple per tensor; its strings and class repeat from the memo.
    p.op("MARK");
    memoized("'storage'", () => p.string("storage"));
    memoized(`class ${storage.dtype}`, () => p.global("torch", storageClassOf(storage.dtype)));
    memoized(`key ${tensor.storage}`, () => p.string(String(tensor.storage)));
    memoized("'cpu'", () => p.string("cpu"));
    p.int(storage.numel).op("TUPLE").put();
    p.op("BINPERSID");
    p.int(tensor.storageOffset).intTuple(tensor.shape).intTuple(tensor.stride);
    p.op("NEWFALSE");
    memoized("OrderedDict", () => p.global("collections", "OrderedDict"));
    p.op("EMPTY_TUPLE").op("REDUCE").put();
    p.op("TUPLE").put();
    p.op("REDUCE").put();
  };
}
