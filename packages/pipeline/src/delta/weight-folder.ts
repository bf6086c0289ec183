import { stat } from "node:fs/promises";
import { join } from "node:path";
import { InputError, type InputErrorCode } from "../errors.js";
import { findWeights, listFolder, readJsonObject, WEIGHT_LAYOUTS } from "../inspect/folder-listing.js";
import type { WeightFormat } from "../inspect/report.js";
import type { StoredTensor } from "../tensors/tensor-file.js";
import { TensorFile } from "../tensors/tensor-file.js";

/** Which side of `tuned = base + delta` a folder is: names its errors and their codes. */
export type FolderRole = "base" | "delta" | "tuned";

const CODES: Record<FolderRole, { missing: InputErrorCode; wrong: InputErrorCode; what: string }> = {
  base: { missing: "BASE_MISSING", wrong: "BASE_WRONG", what: "the base: LLaMA converted to Hugging Face format (config.json, pytorch_model*.bin or model*.safetensors)" },
  delta: { missing: "DELTA_MISSING", wrong: "DELTA_WRONG", what: "the downloaded delta folder (config.json, tokenizer files, pytorch_model*.bin or model*.safetensors)" },
  tuned: { missing: "MODEL_NOT_FOLDER", wrong: "MODEL_INCONSISTENT", what: "the fine-tuned model folder (config.json, tokenizer files, pytorch_model*.bin or model*.safetensors)" },
};

/** A tensor and the file it is in. */
export interface LocatedTensor {
  file: TensorFile;
  tensor: StoredTensor;
}

/**
 * The weights of a Hugging Face folder, whatever their sharding: every tensor by name across its
 * files, in the files' order (shard 1's state-dict order, then shard 2's: the order save_pretrained
 * wrote, so the model's), opened for row reads. Only the pickles and headers are read here.
 */
export interface WeightFolder {
  dir: string;
  role: FolderRole;
  format: WeightFormat;
  config: Record<string, unknown>;
  /** The weight files and their index, relative to dir. */
  weightFiles: string[];
  files: TensorFile[];
  tensors: Map<string, LocatedTensor>;
  close(): Promise<void>;
}

export async function openWeightFolder(dir: string, role: FolderRole): Promise<WeightFolder> {
  const { missing, wrong, what } = CODES[role];
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new InputError(missing, `${dir}: ${info ? "is not a folder" : "not found"}; pass ${what}`);
  const { names, files: regular } = await listFolder(dir);
  // transformers of 2023 loaded the .bin files when both were there; so do we.
  const found = (await findWeights(dir, "pytorch", names)) ?? (await findWeights(dir, "safetensors", names));
  if (!found) throw new InputError(missing, `${dir}: holds no ${WEIGHT_LAYOUTS.pytorch.single}, ${WEIGHT_LAYOUTS.pytorch.index}, ${WEIGHT_LAYOUTS.safetensors.single} or ${WEIGHT_LAYOUTS.safetensors.index}; pass ${what}`);
  if (found.problems.length > 0) throw new InputError(wrong, `${join(dir, found.problems[0]!.file)}: ${found.problems[0]!.message}; run model-recover inspect ${dir} for every problem (is the download complete?)`);
  const config = await readJsonObject(join(dir, "config.json"), "config");
  if (!config.ok) throw new InputError(regular.has("config.json") ? wrong : missing, `${join(dir, "config.json")}: ${config.reason}; pass ${what}`);
  const files: TensorFile[] = [];
  const tensors = new Map<string, LocatedTensor>();
  try {
    for (const name of found.files) {
      const file = await TensorFile.open(join(dir, name), `${role} checkpoint`);
      files.push(file);
      for (const tensor of file.tensors) {
        const earlier = tensors.get(tensor.name);
        if (earlier) throw new InputError(wrong, `${file.path}: holds ${tensor.name}, which ${earlier.file.path} holds too; a checkpoint has each tensor once (is a shard of another download in the folder?)`);
        tensors.set(tensor.name, { file, tensor });
      }
    }
  } catch (error) {
    await Promise.all(files.map((file) => file.close()));
    throw error;
  }
  const weightFiles = [...(found.index ? [found.index.name] : []), ...found.files];
  return { dir, role, format: found.format, config: config.value, weightFiles, files, tensors, close: () => Promise.all(files.map((file) => file.close())).then(() => undefined) };
}
