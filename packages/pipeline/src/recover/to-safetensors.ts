import { safetensorsFileName } from "@model-recover/torch-format";
import { SAFETENSORS_INDEX } from "../convert/safetensors-index.js";
import { UsageError } from "../errors.js";
import type { FileTask } from "./plan.js";

const TORCH_SHARD = /^pytorch_model(-\d+-of-\d+)?\.bin$/;
const TORCH_INDEX = "pytorch_model.bin.index.json";

/**
 * `--to safetensors`: each `pytorch_model*.bin` of the release becomes the safetensors file Hugging
 * Face's conversion names it (`model-0000N-of-0000M.safetensors`), and the index becomes
 * `model.safetensors.index.json`; every other file is recovered as it is. With `keepSource` the
 * `.bin` files and their index are published too.
 */
export function planSafetensors(tasks: FileTask[], keepSource: boolean, recipe: string): FileTask[] {
  if (!tasks.some((t) => TORCH_SHARD.test(t.entry.name))) {
    throw new UsageError(`--to safetensors: ${recipe} has no pytorch_model*.bin to convert; recover it without --to`);
  }
  return tasks.map((task) => {
    if (TORCH_SHARD.test(task.entry.name)) return { ...task, convert: { to: "safetensors-shard", name: safetensorsFileName(task.entry.name), keepSource } };
    if (task.entry.name === TORCH_INDEX) return { ...task, convert: { to: "safetensors-index", name: SAFETENSORS_INDEX, keepSource } };
    return task;
  });
}

/** Whether the recovered bytes of `task` are written to a file of their own (always, but for a shard converted without --keep-bin). */
export function writesSource(task: FileTask): boolean {
  return !task.convert || task.convert.keepSource || task.convert.to === "safetensors-index";
}

/** The names `task` publishes, in the order the summary lists them. */
export function outputNames(task: FileTask): string[] {
  if (!task.convert) return [task.entry.name];
  return task.convert.keepSource ? [task.entry.name, task.convert.name] : [task.convert.name];
}
