import { type Dtype, dtypeBytes, dtypeRank } from "../dtype.js";
import { TorchFormatError } from "../errors.js";
import { contiguousStride } from "../save/state-dict.js";
import { elementCount, type TorchTensor } from "../torch/tensor.js";
import { encodeHeader, MAX_HEADER_BYTES, type SafetensorsTensorInfo } from "./header-bytes.js";
import { compareNames } from "./name-order.js";
import { findDroppedNames } from "./shared-storage.js";

/** A tensor of the output and the torch tensor whose elements, in C order, are its bytes. */
export interface PlannedTensor extends SafetensorsTensorInfo {
  source: TorchTensor;
}

/** The whole output file decided before a byte of data is copied. */
export interface SafetensorsPlan {
  /** In file order: descending dtype rank, then name, as the reference writer orders them. */
  tensors: PlannedTensor[];
  /** Dropped name -> the kept name sharing its storage, as recorded in `__metadata__`. */
  droppedNames: Map<string, string>;
  metadata: [string, string][];
  /** The 8-byte length and the padded JSON: the file's first `header.length` bytes. */
  header: Uint8Array;
  dataBytes: number;
  fileBytes: number;
}

export interface PlanOptions {
  /**
   * Names convert.py avoids keeping when a storage has another complete name: transformers'
   * `_tied_weights_keys` of the model class (["lm_head.weight"] for LlamaForCausalLM).
   */
  discardNames?: Iterable<string>;
}

/** What convert.py's `convert_file` would write for this state dict, laid out byte by byte. */
export function planSafetensors(stateDict: { tensors: TorchTensor[]; storageBytes: Map<string, number> }, file: string, options: PlanOptions = {}): SafetensorsPlan {
  const named = stateDict.tensors.find((t) => t.name === "__metadata__");
  if (named) throw new TorchFormatError("SAFETENSORS_INVALID", file, 'a tensor named "__metadata__", which safetensors reserves for its metadata');
  const droppedNames = findDroppedNames(stateDict.tensors, stateDict.storageBytes, new Set(options.discardNames ?? []), file);
  const kept = stateDict.tensors
    .filter((t) => !droppedNames.has(t.name))
    .sort((a, b) => dtypeRank(b.dtype) - dtypeRank(a.dtype) || compareNames(a.name, b.name));
  let offset = 0;
  const tensors = kept.map((source): PlannedTensor => {
    const begin = offset;
    offset += elementCount(source.shape) * dtypeBytes(source.dtype);
    return { name: source.name, dtype: source.dtype, shape: source.shape, dataOffsets: [begin, offset], source };
  });
  // convert.py: metadata = {"format": "pt"}, then each dropped name unless already a key.
  const metadata: [string, string][] = [["format", "pt"]];
  for (const [dropped, keep] of droppedNames) if (dropped !== "format") metadata.push([dropped, keep]);
  const header = encodeHeader(metadata, tensors);
  if (header.length - 8 > MAX_HEADER_BYTES) {
    throw new TorchFormatError("HEADER_TOO_LARGE", file, `the safetensors header would be ${header.length - 8} bytes, over readers' cap of ${MAX_HEADER_BYTES}`);
  }
  if (!Number.isSafeInteger(header.length + offset)) throw new TorchFormatError("SIZE_OVERFLOW", file, "the safetensors file would exceed 2^53 bytes");
  return { tensors, droppedNames, metadata, header, dataBytes: offset, fileBytes: header.length + offset };
}

/** A tensor of a new checkpoint: its bytes are its elements in C order. */
export interface NewTensor {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
}

/**
 * The safetensors file holding `tensors`, each in a storage of its own (a checkpoint written from
 * scratch, as a converter makes one): the same header and order convert.py's output has, so that
 * writing each tensor's bytes in `tensors` order of the plan, after `header`, fills the file front
 * to back.
 */
export function planNewSafetensors(tensors: readonly NewTensor[], file: string): SafetensorsPlan {
  const sources = tensors.map(({ name, dtype, shape }, i): TorchTensor => ({ name, dtype, shape: [...shape], stride: contiguousStride(shape), storageOffset: 0, storageKey: String(i) }));
  const storageBytes = new Map(sources.map((t) => [t.storageKey, elementCount(t.shape) * dtypeBytes(t.dtype)]));
  return planSafetensors({ tensors: sources, storageBytes }, file);
}
