import { readdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type KnownLlamaSize, type LlamaParams, parseParams } from "@model-recover/llama-convert";
import { readSmallFile } from "@model-recover/safe-fs";
import { InputError } from "../errors.js";

/**
 * The original download as Meta shipped it (spec llama-patches.md §3): a folder per size (`30B/`)
 * with `consolidated.NN.pth` and `params.json`, and `tokenizer.model` next to those folders (or,
 * copied by hand, inside one).
 */
export interface OriginalsFolder {
  /** The model folder: where params.json and the consolidated files are. */
  dir: string;
  params: LlamaParams;
  paramsPath: string;
  paramsText: string;
  /** consolidated.00.pth, consolidated.01.pth, ... as found, in order. */
  shards: string[];
  tokenizer: string | undefined;
}

const SHARD_NAME = /^consolidated\.(\d{2})\.pth$/;
/** params.json is about 100 bytes; anything bigger is not one. */
const MAX_PARAMS_BYTES = 64 * 1024;

const exists = (path: string) => stat(path).then(() => true, () => false);

/**
 * The model folder `path` names: itself when it holds params.json; else, in a download root, the
 * folder of `model` (a recipe's "30B"), or the only model folder there is.
 */
export async function findOriginals(path: string, model?: string): Promise<OriginalsFolder> {
  const info = await stat(path).catch(() => undefined);
  const want = model ? `the LLaMA-${model} folder of the original download (${model}/ with consolidated.00.pth and params.json)` : "the folder of an original LLaMA (consolidated.00.pth, params.json)";
  if (!info) throw new InputError("ORIGINALS_MISSING", `${path}: not found; pass ${want}`);
  if (!info.isDirectory()) throw new InputError("ORIGINALS_MISSING", `${path}: not a folder; pass ${want}`);
  const dir = await modelFolder(path, model, want);
  const paramsPath = join(dir, "params.json");
  const paramsText = await readSmallFile(paramsPath, MAX_PARAMS_BYTES, "params.json");
  const params = parseParams(paramsText, paramsPath);
  const shards = (await readdir(dir)).filter((name) => SHARD_NAME.test(name)).sort().map((name) => join(dir, name));
  const tokenizer = (await exists(join(dir, "tokenizer.model"))) ? join(dir, "tokenizer.model") : (await exists(join(dirname(dir), "tokenizer.model"))) ? join(dirname(dir), "tokenizer.model") : undefined;
  return { dir, params, paramsPath, paramsText, shards, tokenizer };
}

async function modelFolder(path: string, model: string | undefined, want: string): Promise<string> {
  if (await exists(join(path, "params.json"))) return path;
  if (model && (await exists(join(path, model, "params.json")))) return join(path, model);
  const entries = await readdir(path, { withFileTypes: true });
  const models: string[] = [];
  for (const entry of entries) if (entry.isDirectory() && (await exists(join(path, entry.name, "params.json")))) models.push(entry.name);
  models.sort();
  if (!model && models.length === 1) return join(path, models[0]!);
  const found = models.length > 0 ? ` (it holds ${models.join(", ")})` : "";
  const which = model ? `no ${model}/params.json` : models.length > 1 ? "several models" : "no params.json";
  throw new InputError("ORIGINALS_MISSING", `${path}: ${which} in this folder${found}; pass ${want}`);
}

/**
 * The consolidated files must be consolidated.00.pth up to one less than the model's shard count
 * (params.json's size, or what is there for a size Meta never published), none missing, none extra.
 */
export function expectedShards(originals: OriginalsFolder, size: KnownLlamaSize | undefined): number {
  const found = originals.shards.map((path) => Number(SHARD_NAME.exec(path.slice(originals.dir.length + 1))![1]));
  const count = size?.shards ?? (found.length > 0 ? Math.max(...found) + 1 : 1);
  const what = size ? `LLaMA-${size.name} comes as ${count} file${count > 1 ? "s" : ""}, ${shardName(0)}${count > 1 ? ` to ${shardName(count - 1)}` : ""}` : `params.json describes no published size, so the files must be ${shardName(0)} onwards with none missing`;
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !found.includes(i));
  if (missing.length > 0) {
    throw new InputError("ORIGINALS_MISSING", `${join(originals.dir, shardName(missing[0]!))}: missing${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ""}; ${what} (check the download against its checklist.chk)`);
  }
  const extra = found.find((i) => i >= count);
  if (extra !== undefined) throw new InputError("ORIGINALS_WRONG", `${join(originals.dir, shardName(extra))}: not part of this model; ${what}: is a file of another size in this folder?`);
  return count;
}

export const shardName = (index: number) => `consolidated.${String(index).padStart(2, "0")}.pth`;
