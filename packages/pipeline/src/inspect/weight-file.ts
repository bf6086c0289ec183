import { statRegularFile } from "@model-recover/safe-fs";
import { type Dtype, dtypeBytes, readSafetensorsHeader, readTorchCheckpoint, type TorchTensor } from "@model-recover/torch-format";
import type { InspectedFile, InspectedTensor, SharedStorage, WeightFormat, WeightTotals } from "./report.js";

/** `.safetensors` by its name; anything else is read as a torch.save checkpoint (.bin, .pt, .pth). */
function weightFormatOf(name: string): WeightFormat {
  return name.endsWith(".safetensors") ? "safetensors" : "pytorch";
}

/**
 * The tensors of one weight file from its headers alone (the zip's directory and pickle, or the
 * safetensors JSON header): the weights are never read. Throws InputFileError for a path that is not
 * a regular file (a FIFO is refused before anything opens it) and TorchFormatError for a file that
 * breaks its format. `label` is how the report names the file.
 */
export async function inspectWeightFile(path: string, label: string): Promise<InspectedFile> {
  const info = await statRegularFile(path, "weight file (.bin or .safetensors)");
  return weightFormatOf(path) === "safetensors" ? inspectSafetensors(path, label, info.size) : inspectCheckpoint(path, label, info.size);
}

async function inspectCheckpoint(path: string, label: string, bytes: number): Promise<InspectedFile> {
  const checkpoint = await readTorchCheckpoint(path);
  const storageBytes = new Map(checkpoint.storages.map((s) => [s.key, s.byteLength]));
  const tensors = checkpoint.tensors.map(
    (t): InspectedTensor => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: tensorBytes(t.dtype, t.shape), storage: t.storageKey, storageOffset: t.storageOffset, stride: t.stride }),
  );
  const byStorage = new Map<string, TorchTensor[]>();
  for (const t of checkpoint.tensors) byStorage.set(t.storageKey, [...(byStorage.get(t.storageKey) ?? []), t]);
  const sharedStorages = [...byStorage].filter(([, views]) => views.length > 1).map(([storage, views]): SharedStorage => ({ storage, bytes: storageBytes.get(storage)!, tensors: views.map((v) => v.name) }));
  // A tied weight is the very same view under a second name: counted once, as model.parameters() does.
  const distinctViews = new Map(checkpoint.tensors.map((t) => [viewKey(t), t]));
  const parameters = [...distinctViews.values()].reduce((sum, t) => sum + elements(t.shape), 0);
  const storedBytes = checkpoint.storages.reduce((sum, s) => sum + s.byteLength, 0);
  return { file: label, format: "pytorch", bytes, tensors, sharedStorages, droppedNames: {}, metadata: null, totals: totalsOf(tensors, parameters, storedBytes) };
}

async function inspectSafetensors(path: string, label: string, bytes: number): Promise<InspectedFile> {
  const header = await readSafetensorsHeader(path);
  const tensors = header.tensors.map((t): InspectedTensor => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.dataOffsets[1] - t.dataOffsets[0] }));
  const names = new Set(tensors.map((t) => t.name));
  // convert.py records each name it dropped as `dropped: kept` next to "format" in __metadata__.
  const droppedNames = Object.fromEntries(Object.entries(header.metadata ?? {}).filter(([dropped, kept]) => dropped !== "format" && !names.has(dropped) && names.has(kept)));
  const parameters = tensors.reduce((sum, t) => sum + elements(t.shape), 0);
  return { file: label, format: "safetensors", bytes, tensors, sharedStorages: [], droppedNames, metadata: header.metadata ?? null, totals: totalsOf(tensors, parameters, header.dataBytes) };
}

function totalsOf(tensors: InspectedTensor[], parameters: number, storedBytes: number): WeightTotals {
  const dtypes: Record<string, number> = {};
  for (const t of tensors) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
  return { tensors: tensors.length, parameters, tensorBytes: tensors.reduce((sum, t) => sum + t.bytes, 0), storedBytes, dtypes };
}

/** The totals of several files of one format (a sharded checkpoint). */
export function sumTotals(all: WeightTotals[]): WeightTotals {
  const dtypes: Record<string, number> = {};
  for (const totals of all) for (const [dtype, count] of Object.entries(totals.dtypes)) dtypes[dtype] = (dtypes[dtype] ?? 0) + count;
  const sum = (pick: (t: WeightTotals) => number) => all.reduce((total, t) => total + pick(t), 0);
  return { tensors: sum((t) => t.tensors), parameters: sum((t) => t.parameters), tensorBytes: sum((t) => t.tensorBytes), storedBytes: sum((t) => t.storedBytes), dtypes };
}

const elements = (shape: readonly number[]) => shape.reduce((product, dim) => product * dim, 1);
const tensorBytes = (dtype: Dtype, shape: readonly number[]) => elements(shape) * dtypeBytes(dtype);
const viewKey = (t: TorchTensor) => `${t.storageKey}|${t.dtype}|${t.storageOffset}|${t.shape.join(",")}|${t.stride.join(",")}`;
