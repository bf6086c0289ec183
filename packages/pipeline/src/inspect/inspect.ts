import { stat } from "node:fs/promises";
import { join } from "node:path";
import { InputFileError } from "@model-recover/safe-fs";
import { TorchFormatError } from "@model-recover/torch-format";
import { checkAgainstConfig } from "./config-checks.js";
import { compareFormats } from "./cross-format.js";
import { afterPath, type FoundWeights, findWeights, listFolder, readJsonObject } from "./folder-listing.js";
import { checkAgainstIndex } from "./index-checks.js";
import { isLlamaConfig, readLlamaDimensions } from "./llama-shapes.js";
import type { InspectedFile, InspectProblem, InspectReport, LlamaDimensions, WeightFormat, WeightSet } from "./report.js";
import { inspectWeightFile, sumTotals } from "./weight-file.js";

const FORMATS: WeightFormat[] = ["pytorch", "safetensors"];

/**
 * Inspects a weight file (.bin or .safetensors) or a Hugging Face model folder from headers and
 * pickles alone; the weights are never read. A file that cannot be read as its format throws
 * (InputFileError, TorchFormatError); a folder's problems are collected in the report instead, so
 * that one run names them all.
 */
export async function inspectPath(path: string): Promise<InspectReport> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new InputFileError("INPUT_MISSING", path, `${path}: not found; expected a weight file (.bin or .safetensors) or a model folder`);
  if (info.isDirectory()) return inspectFolder(path);
  const file = await inspectWeightFile(path, path);
  return { version: 1, path, kind: "file", consistent: true, problems: [], notes: [], weightSets: [], files: [file] };
}

async function inspectFolder(dir: string): Promise<InspectReport> {
  const { names } = await listFolder(dir);
  const problems: InspectProblem[] = [];
  const notes: string[] = [];
  const config = await readConfig(dir, names, problems, notes);
  const weightSets: WeightSet[] = [];
  const inspected = new Map<WeightFormat, { found: FoundWeights; files: InspectedFile[]; complete: boolean }>();
  for (const format of FORMATS) {
    const found = await findWeights(dir, format, names);
    if (!found) continue;
    const read = await inspectFiles(dir, found);
    const complete = read.problems.length === 0 && found.problems.length === 0;
    problems.push(...found.problems, ...read.problems, ...checkAgainstIndex(found, read.files));
    if (config) problems.push(...checkAgainstConfig(found, read.files, complete, config));
    weightSets.push({ format, index: found.index?.name ?? null, files: found.files, totals: sumTotals(read.files.map((f) => f.totals)) });
    inspected.set(format, { found, files: read.files, complete });
  }
  const pytorch = inspected.get("pytorch");
  const safetensors = inspected.get("safetensors");
  if (pytorch?.complete && safetensors?.complete) {
    problems.push(...compareFormats(pytorch.files, safetensors.files, safetensors.found.index?.name ?? safetensors.found.files[0]!));
  }
  if (weightSets.length === 0) problems.push(noWeights(names));
  const allFiles = [...inspected.values()].flatMap((set) => set.files);
  return { version: 1, path: dir, kind: "folder", consistent: problems.length === 0, problems, notes, ...(config ? { config } : {}), weightSets, files: allFiles };
}

/** A folder without Hugging Face weights, such as an original LLaMA download (consolidated.00.pth): its files can be inspected one by one. */
function noWeights(names: Set<string>): InspectProblem {
  const checkpoint = [...names].filter((name) => /\.(pth|pt|bin)$/.test(name)).sort()[0];
  const hint = checkpoint ? `; to list a checkpoint's tensors, inspect the file itself (model-recover inspect ${checkpoint})` : "";
  return { file: "pytorch_model.bin", scope: "pytorch", message: `is missing, as are model.safetensors and both indexes: the folder holds no Hugging Face weights${hint}` };
}

/** The dimensions to check the weights against, when config.json is a LLaMA's and gives them all. */
async function readConfig(dir: string, names: Set<string>, problems: InspectProblem[], notes: string[]): Promise<LlamaDimensions | undefined> {
  const problem = (message: string) => problems.push({ file: "config.json", scope: "config", message });
  if (!names.has("config.json")) {
    problem("is missing: transformers cannot load the folder without it, and no tensor shape can be checked");
    return undefined;
  }
  const read = await readJsonObject(join(dir, "config.json"), "config");
  if (!read.ok) {
    problem(read.reason);
    return undefined;
  }
  if (!isLlamaConfig(read.value)) {
    notes.push(`config.json: model_type ${JSON.stringify(read.value.model_type ?? null)} is not a LLaMA's; tensor shapes are not checked against it`);
    return undefined;
  }
  const dimensions = readLlamaDimensions(read.value);
  if (dimensions.ok) return dimensions.dimensions;
  for (const reason of dimensions.reasons) problem(reason);
  return undefined;
}

/** Each file of the set, or a problem naming it: one damaged or hostile shard does not hide the others. */
async function inspectFiles(dir: string, found: FoundWeights): Promise<{ files: InspectedFile[]; problems: InspectProblem[] }> {
  const files: InspectedFile[] = [];
  const problems: InspectProblem[] = [];
  for (const name of found.files) {
    const path = join(dir, name);
    try {
      files.push(await inspectWeightFile(path, name));
    } catch (error) {
      problems.push({ file: name, scope: found.format, message: unreadable(error, path) });
    }
  }
  return { files, problems };
}

/** What a file's error says after its name; anything but a typed input error or an I/O error is a bug, thrown on. */
function unreadable(error: unknown, path: string): string {
  if (error instanceof TorchFormatError) return error.problem;
  if (error instanceof InputFileError) return afterPath(error.message, path);
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return `cannot be read (${code})`;
  throw error;
}
