import { lstat, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { checkPlainFileName } from "@model-recover/hf-layout";
import { describeKind, InputFileError, readSmallFile } from "@model-recover/safe-fs";
import type { InspectProblem, WeightFormat } from "./report.js";

/** config.json is a few hundred bytes; anything past this is no config (and /dev/zero is never read whole). */
const MAX_CONFIG_BYTES = 1024 * 1024;
/** A 405B checkpoint's index is well under 1 MB. */
const MAX_INDEX_BYTES = 16 * 1024 * 1024;

/** The two weight layouts transformers writes, each with its own index (hf-layout names them alike). */
export const WEIGHT_LAYOUTS: Record<WeightFormat, { index: string; single: string; shard: RegExp }> = {
  pytorch: { index: "pytorch_model.bin.index.json", single: "pytorch_model.bin", shard: /^pytorch_model-.+\.bin$/ },
  safetensors: { index: "model.safetensors.index.json", single: "model.safetensors", shard: /^model-.+\.safetensors$/ },
};

export interface WeightIndex {
  name: string;
  /** Tensor name -> shard file, in the index's order; only shard names that are plain file names. */
  weightMap: Map<string, string>;
  /** metadata.total_size, when it is a number. */
  totalSize: number | undefined;
}

/** The weight files of one format in a folder, before any is opened. */
export interface FoundWeights {
  format: WeightFormat;
  index: WeightIndex | null;
  /** The files to inspect: those the index names that are on disk, then unlisted ones; or the single file. */
  files: string[];
  problems: InspectProblem[];
}

export type JsonObjectReading = { ok: true; value: Record<string, unknown> } | { ok: false; reason: string };

/** Every name in `dir`, and those that are regular files, links followed (the Hugging Face cache links to blobs). */
export async function listFolder(dir: string): Promise<{ names: Set<string>; files: Set<string> }> {
  const names = await readdir(dir);
  const kinds = await Promise.all(names.map((name) => stat(join(dir, name)).then((info) => info.isFile(), () => false)));
  return { names: new Set(names), files: new Set(names.filter((_, i) => kinds[i])) };
}

/**
 * Refuse, naming it, the first of `names` in `dir` that is neither a regular file nor a folder (links
 * followed): a FIFO, a socket, a device or a dangling link where a file to copy is expected would
 * otherwise be left out of the output without a word. `copied` says why it matters, after a comma.
 */
export async function refuseSpecialFiles(dir: string, names: Iterable<string>, copied: string): Promise<void> {
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile() || info?.isDirectory()) continue;
    const kind = info ? describeKind(info) : (await lstat(path).catch(() => undefined))?.isSymbolicLink() ? "a symlink to a file that does not exist (a dangling link)" : undefined;
    // Gone since the listing: nothing to copy, nothing to refuse.
    if (kind) throw new InputFileError("INPUT_NOT_REGULAR", path, `${path}: is ${kind}, not a file, and ${copied}; replace it with the file itself, or remove it`);
  }
}

/** A small JSON object file (config.json, an index), read only as a regular file of bounded size. */
export async function readJsonObject(path: string, what: "config" | "index"): Promise<JsonObjectReading> {
  let text: string;
  try {
    text = await readSmallFile(path, what === "config" ? MAX_CONFIG_BYTES : MAX_INDEX_BYTES, what === "config" ? "config.json" : "index");
  } catch (error) {
    if (error instanceof InputFileError) return { ok: false, reason: afterPath(error.message, path) };
    throw error;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return { ok: true, value: value as Record<string, unknown> };
    return { ok: false, reason: `holds ${Array.isArray(value) ? "an array" : JSON.stringify(value)}, not a JSON object` };
  } catch (error) {
    return { ok: false, reason: `is not valid JSON (${(error as Error).message})` };
  }
}

/** A message that starts with the file's path, as what follows it: the report names the file apart. */
export function afterPath(message: string, path: string): string {
  return message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
}

/**
 * Finds one format's weight files: through its index when the folder has one (every name checked
 * as a plain file name before it is joined to the folder), else the single file. Shard-named files
 * the index does not name are problems, and inspected too. A name that is there but no regular file
 * (a FIFO, a folder) is kept, for the inspection to say what it is. Undefined when the format is absent.
 */
export async function findWeights(dir: string, format: WeightFormat, names: ReadonlySet<string>): Promise<FoundWeights | undefined> {
  const layout = WEIGHT_LAYOUTS[format];
  const shardsOnDisk = [...names].filter((name) => layout.shard.test(name)).sort();
  const problem = (file: string, message: string): InspectProblem => ({ file, scope: format, message });
  if (!names.has(layout.index)) {
    if (names.has(layout.single)) return { format, index: null, files: [layout.single, ...shardsOnDisk], problems: shardsOnDisk.map((s) => problem(s, `a shard on disk, but there is no ${layout.index} to name it (transformers loads ${layout.single} alone)`)) };
    if (shardsOnDisk.length === 0) return undefined;
    return { format, index: null, files: shardsOnDisk, problems: [problem(layout.index, `is missing, yet ${shardsOnDisk.length} shard file(s) are on disk that only it can list`)] };
  }
  const read = await readJsonObject(join(dir, layout.index), "index");
  if (!read.ok) return { format, index: null, files: shardsOnDisk, problems: [problem(layout.index, read.reason)] };
  const { index, problems } = readWeightIndex(layout.index, read.value, format);
  const tensorsPerShard = new Map<string, number>();
  for (const shard of index.weightMap.values()) tensorsPerShard.set(shard, (tensorsPerShard.get(shard) ?? 0) + 1);
  const named = [...tensorsPerShard.keys()].sort();
  for (const [shard, count] of tensorsPerShard) if (!names.has(shard)) problems.push(problem(shard, `is missing: ${layout.index} maps ${count} tensor(s) to it`));
  const unlisted = shardsOnDisk.filter((name) => !tensorsPerShard.has(name));
  for (const shard of unlisted) problems.push(problem(shard, `is on disk, but ${layout.index} does not name it`));
  return { format, index, files: [...named.filter((shard) => names.has(shard)), ...unlisted], problems };
}

function readWeightIndex(name: string, value: Record<string, unknown>, format: WeightFormat): { index: WeightIndex; problems: InspectProblem[] } {
  const problems: InspectProblem[] = [];
  const weightMap = new Map<string, string>();
  const raw = value.weight_map;
  const total = (value.metadata as Record<string, unknown> | undefined)?.total_size;
  const index: WeightIndex = { name, weightMap, totalSize: typeof total === "number" ? total : undefined };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    problems.push({ file: name, scope: format, message: 'has no "weight_map" object (tensor name -> shard file)' });
    return { index, problems };
  }
  for (const [tensor, shard] of Object.entries(raw)) {
    const safe = typeof shard === "string" ? checkPlainFileName(shard) : { ok: false as const, reason: "is not a file name" };
    if (safe.ok) weightMap.set(tensor, shard as string);
    else problems.push({ file: name, scope: format, message: `maps ${JSON.stringify(tensor)} to ${JSON.stringify(shard)}, which ${safe.reason}` });
  }
  if (weightMap.size === 0 && problems.length === 0) problems.push({ file: name, scope: format, message: 'has an empty "weight_map"; it names no shard' });
  return { index, problems };
}
