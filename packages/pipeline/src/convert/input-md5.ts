import { basename } from "node:path";
import { hashFile } from "@model-recover/md5-manifest";
import { statRegularFile } from "@model-recover/safe-fs";
import { InputError, InterruptedError } from "../errors.js";
import type { CheckedInput, ConvertLlamaEvent } from "./llama-events.js";

export interface InputCheckOptions {
  /** The published md5 (null: none is) and size of each input, by file name. */
  published: ReadonlyMap<string, { md5: string | null; size?: number }>;
  /** Hash the inputs whose md5 is published ("full"), or only list them ("shapes"). */
  hash: boolean;
  /** Whose published md5s these are, for the message of a mismatch ("LLaMA-30B"). */
  model: string;
  onEvent: (event: ConvertLlamaEvent) => void;
  signal?: AbortSignal;
}

/**
 * Each input against its published size, at once, then its published md5 (spec xor-release-format.md
 * §4, OpenAssistant's card), one sequential read per file. A mismatch stops the run before the
 * conversion starts: a damaged or foreign original would otherwise give a folder that looks right
 * and is not.
 */
export async function checkInputMd5(paths: readonly string[], options: InputCheckOptions): Promise<CheckedInput[]> {
  const sizes = new Map<string, number>();
  for (const path of paths) {
    const { size } = await statRegularFile(path, basename(path));
    const want = options.published.get(basename(path))?.size;
    if (want !== undefined && size !== want) throw new InputError("ORIGINALS_WRONG", `${path}: ${size} bytes, but ${options.model}'s published ${basename(path)} has ${want}; the file is truncated or not the published one: download it again`);
    sizes.set(path, size);
  }
  const checked: CheckedInput[] = [];
  for (const path of paths) {
    const name = basename(path);
    const bytes = sizes.get(path)!;
    const published = options.published.get(name)?.md5 ?? null;
    const input: CheckedInput = { name, path, bytes, published };
    if (published !== null && options.hash) {
      const { md5 } = await hashFile(path, ["md5"], { onProgress: (bytesDone) => options.onEvent({ type: "input-progress", name, bytesDone, bytes }), ...(options.signal ? { signal: options.signal } : {}) }).catch((error: unknown) => {
        throw options.signal?.aborted ? new InterruptedError([]) : error;
      });
      if (md5 !== published) {
        throw new InputError("ORIGINALS_WRONG", `${path}: md5 ${md5}, but ${options.model}'s published ${name} has md5 ${published}; the file is damaged or not the published one: download it again (and check it with the download's checklist.chk)`);
      }
      input.md5 = md5;
    }
    options.onEvent({ type: "input-checked", input });
    checked.push(input);
  }
  return checked;
}
