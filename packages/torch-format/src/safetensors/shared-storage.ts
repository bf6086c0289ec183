import { dtypeBytes } from "../dtype.js";
import { TorchFormatError } from "../errors.js";
import { elementCount, storageSpan, type TorchTensor } from "../torch/tensor.js";
import { compareNames } from "./name-order.js";

/**
 * Tensors that share a storage, kept once as HF's conversion does (huggingface/safetensors
 * bindings/python/convert.py `_remove_duplicate_names`, with `_find_shared_tensors` and
 * `_filter_shared_not_shared` from safetensors/torch.py): per storage, tensors are sorted by
 * (start, end, name) and chained into clusters while each starts before the previous one's end; a
 * cluster keeps its first complete name (one covering the whole storage, not in `discardNames`),
 * and records every other name as dropped in its favour. A lone tensor that is not complete is kept
 * as a copy of its own elements; a larger cluster without a complete name is refused, as convert.py
 * refuses it. Empty storages share nothing.
 *
 * Returns dropped name -> kept name, in the order convert.py writes them into the metadata.
 */
export function findDroppedNames(tensors: TorchTensor[], storageBytes: Map<string, number>, discardNames: ReadonlySet<string>, file: string): Map<string, string> {
  const byStorage = new Map<string, TorchTensor[]>();
  for (const tensor of tensors) {
    if (storageBytes.get(tensor.storageKey) === 0) continue;
    const group = byStorage.get(tensor.storageKey);
    if (group) group.push(tensor);
    else byStorage.set(tensor.storageKey, [tensor]);
  }
  const dropped = new Map<string, string>();
  for (const [key, group] of byStorage) {
    for (const cluster of clusters(group)) {
      const keep = keptName(cluster, storageBytes.get(key)!, discardNames, file);
      for (const name of cluster.map((t) => t.name).sort(compareNames)) {
        if (name !== keep && !dropped.has(name)) dropped.set(name, keep);
      }
    }
  }
  return dropped;
}

/** convert.py's chaining compares each start with the previous tensor's end, not the cluster's. */
function clusters(group: TorchTensor[]): TorchTensor[][] {
  if (group.length < 2) return [group];
  const areas = group
    .map((tensor) => ({ tensor, ...storageSpan(tensor, dtypeBytes(tensor.dtype)) }))
    .sort((a, b) => a.start - b.start || a.end - b.end || compareNames(a.tensor.name, b.tensor.name));
  const result: TorchTensor[][] = [[areas[0]!.tensor]];
  let lastEnd = areas[0]!.end;
  for (const area of areas.slice(1)) {
    if (area.start >= lastEnd) result.push([area.tensor]);
    else result.at(-1)!.push(area.tensor);
    lastEnd = area.end;
  }
  return result;
}

function keptName(cluster: TorchTensor[], storageLength: number, discardNames: ReadonlySet<string>, file: string): string {
  const complete = cluster
    .filter((t) => t.storageOffset === 0 && elementCount(t.shape) * dtypeBytes(t.dtype) === storageLength)
    .map((t) => t.name)
    .sort(compareNames);
  if (complete.length === 0) {
    if (cluster.length === 1) return cluster[0]!.name;
    const names = cluster.map((t) => JSON.stringify(t.name)).join(", ");
    throw new TorchFormatError("SHARED_STORAGE", file, `tensors ${names} share storage ${JSON.stringify(cluster[0]!.storageKey)} and none covers all of it; convert.py refuses to pick one, and so does this`);
  }
  return complete.find((name) => !discardNames.has(name)) ?? complete[0]!;
}
