import { dtypeBytes } from "../dtype.js";
import { TorchFormatError } from "../errors.js";
import type { SafetensorsTensorInfo } from "../safetensors/header-bytes.js";
import type { SafetensorsPlan } from "../safetensors/plan.js";
import { isContiguous } from "../torch/tensor.js";

/** What a conversion wrote. */
export interface SafetensorsConversion {
  /** The file's first bytes: the 8-byte header length and the padded JSON. */
  header: Uint8Array;
  /** In file order. */
  tensors: SafetensorsTensorInfo[];
  /** Names sharing a storage with a kept tensor and so not written: dropped name -> kept name. */
  droppedNames: Record<string, string>;
  /** `__metadata__`: {"format": "pt"} and the dropped names, as convert.py writes it. */
  metadata: Record<string, string>;
  /** The data buffer's length: the sum of the written tensors' byte sizes. */
  dataBytes: number;
  /** The whole file: header.length + dataBytes. */
  bytesWritten: number;
}

export function conversionOf(plan: SafetensorsPlan): SafetensorsConversion {
  return {
    header: plan.header,
    tensors: plan.tensors.map(({ name, dtype, shape, dataOffsets }) => ({ name, dtype, shape, dataOffsets })),
    droppedNames: Object.fromEntries(plan.droppedNames),
    metadata: Object.fromEntries(plan.metadata),
    dataBytes: plan.dataBytes,
    bytesWritten: plan.fileBytes,
  };
}

/** A storage byte range [start, end) that goes to the output at `output`. */
export interface Placement {
  start: number;
  end: number;
  output: number;
}

/**
 * Where each storage's bytes go, for the streaming converter: a kept tensor that is a contiguous view
 * is one range of its storage; a strided one would need its storage reordered, so it is refused.
 */
export function placementsByStorage(plan: SafetensorsPlan, file: string): Map<string, Placement[]> {
  const byStorage = new Map<string, Placement[]>();
  for (const tensor of plan.tensors) {
    const { source } = tensor;
    if (!isContiguous(source)) {
      throw new TorchFormatError("NON_CONTIGUOUS", file, `tensor ${JSON.stringify(source.name)} is a non-contiguous view (shape [${source.shape.join(", ")}], stride [${source.stride.join(", ")}]); streaming cannot reorder it: convert the .bin file with convertTorchFileToSafetensors`);
    }
    const start = source.storageOffset * dtypeBytes(source.dtype);
    const length = tensor.dataOffsets[1] - tensor.dataOffsets[0];
    if (length === 0) continue;
    const placements = byStorage.get(source.storageKey) ?? [];
    placements.push({ start, end: start + length, output: plan.header.length + tensor.dataOffsets[0] });
    byStorage.set(source.storageKey, placements);
  }
  return byStorage;
}
