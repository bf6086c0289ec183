import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseEncFileName } from "@model-recover/hf-layout";
import { describeKind, openRegularFile } from "@model-recover/safe-fs";
import { InputError } from "../errors.js";
import { eachWithLimit } from "./each-with-limit.js";
import type { PipelineDefinition } from "../recipe/pipelines.js";
import { isEncrypted, type LoadedRecipe, type RecipeFile } from "../recipe/types.js";
import type { RemotePayload, RemoteRelease } from "./payload-source.js";

const HEADER_BYTES = { sha256: 32, none: 0 } as const;
/** File system calls in flight while planning (see eachWithLimit). */
const IO_LANES = 16;

/** One output file: decrypted from its payload, or copied (clear files, payloads with no key). */
export interface FileTask {
  kind: "decrypt" | "copy";
  entry: RecipeFile;
  source: string;
  sourceName: string;
  /** Bytes before the payload: the sha256 header of spec §1, or none. */
  headerBytes: number;
  /** The sha256 the output must have, from the recipe or the release's own names (header formats). */
  sha256?: string;
  /** Where the payload is read from when not `source` itself (a gunzipped copy, spec §2 --compress). */
  readFrom?: string;
  outputBytes: number;
  /** `--to safetensors`: what the recovered file becomes (see to-safetensors.ts). */
  convert?: Conversion;
  /** A payload streamed from the Hub rather than read from `source` (then only a name for messages). */
  remote?: RemotePayload;
}

export interface Conversion {
  to: "safetensors-shard" | "safetensors-index";
  /** The converted file's name (model-00001-of-00002.safetensors, model.safetensors.index.json). */
  name: string;
  /** --keep-bin: the recovered file is published too. */
  keepSource: boolean;
}

/** What a recovery will do, worked out from the recipe, its pipeline and a listing of the release folder. */
export interface Plan {
  tasks: FileTask[];
  /** Clear files the recipe lists that the release folder lacks (a README is not needed to run the model). */
  absentClearFiles: string[];
  /** Files in the release folder that are not part of the release: named, never decrypted. */
  extras: string[];
  totalOutputBytes: number;
}

/** `remote`: the release is on the Hub, listed there; `encDir` is then only its name in messages. */
export async function planRecovery({ recipe, pipeline }: LoadedRecipe, encDir: string, remote?: RemoteRelease): Promise<Plan> {
  const present: Map<string, number | string> = remote ? new Map([...remote.files].map(([name, file]) => [name, file.size])) : await listReleaseFolder(encDir);
  const versions = encVersions(present.keys());
  const tasks: FileTask[] = [];
  const absentClearFiles: string[] = [];
  const missing: string[] = [];
  const claimed = new Set<string>();
  for (const entry of recipe.files) {
    const found = isEncrypted(entry) ? payloadName(pipeline, entry.name, entry.sha256 ?? undefined, versions, present) : { name: entry.name };
    const listed = present.get(found.name);
    claimed.add(found.name);
    if (typeof listed === "string") throw new InputError("ENC_MISSING", `${join(encDir, found.name)}: ${listed}; download it again or replace it with the file itself`);
    if (listed === undefined) {
      if (isEncrypted(entry)) missing.push(found.name + (found.note ?? ""));
      else absentClearFiles.push(entry.name);
      continue;
    }
    const headerBytes = isEncrypted(entry) ? HEADER_BYTES[pipeline.header] : 0;
    const payload = remote?.files.get(found.name);
    const source = payload ? payload.where : join(encDir, found.name);
    tasks.push({ kind: isEncrypted(entry) ? "decrypt" : "copy", entry, source, sourceName: found.name, headerBytes, ...(found.sha256 ? { sha256: found.sha256 } : {}), outputBytes: listed - headerBytes, ...(payload ? { remote: payload } : {}) });
  }
  if (missing.length > 0) {
    const shown = missing.length > 10 ? `${missing.slice(0, 10).join("; ")}; and ${missing.length - 10} more` : missing.join("; ");
    const what = remote ? "check the recipe's hub repo and --revision" : "download them again (git lfs pull) or pass the right --enc folder";
    throw new InputError("ENC_MISSING", `${encDir}: ${missing.length} of ${recipe.files.filter(isEncrypted).length} encrypted files missing: ${shown}; ${what}`);
  }
  // A gzipped payload's size says nothing of the recovered size.
  if (pipeline.payload !== "gzip") await eachWithLimit(tasks, IO_LANES, checkSize);
  const extras = [...present.keys()].filter((name) => !claimed.has(name)).sort();
  return { tasks, absentClearFiles, extras, totalOutputBytes: tasks.reduce((sum, t) => sum + t.outputBytes, 0) };
}

type EncVersions = Map<string, { file: string; sha256: string }[]>;

/** The `.enc` files of the release folder by the plain name they recover, parsed once (planning stays linear). */
function encVersions(files: Iterable<string>): EncVersions {
  const byName: EncVersions = new Map();
  for (const file of files) {
    const parsed = parseEncFileName(file);
    if (!parsed.ok) continue;
    const list = byName.get(parsed.value.plainName) ?? [];
    list.push({ file, sha256: parsed.value.sha256 });
    byName.set(parsed.value.plainName, list);
  }
  return byName;
}

/**
 * The payload's name in the release folder by the pipeline's template. A `.enc` name carries the
 * sha256 (spec §1); where the recipe does not know it, the release's own name tells it.
 */
function payloadName(pipeline: PipelineDefinition, name: string, sha256: string | undefined, versions: EncVersions, present: Map<string, unknown>): { name: string; sha256?: string; note?: string } {
  if (pipeline.encryptedName === "{name}") return { name };
  if (pipeline.encryptedName === "{name}.enc") return { name: `${name}.enc` };
  const found = versions.get(name) ?? [];
  if (sha256 !== undefined) {
    const expected = `${name}.${sha256}.enc`;
    const other = found.find((v) => v.sha256 !== sha256);
    return { name: expected, sha256, ...(other && !present.has(expected) ? { note: ` (found ${other.file}, a different version of ${name})` } : {}) };
  }
  if (found.length > 1) {
    throw new InputError("ENC_NAME", `${found.map((v) => v.file).join(", ")}: several versions of ${name} in the release folder and the recipe does not say which; keep the one the card lists`);
  }
  return found[0] ? { name: found[0].file, sha256: found[0].sha256 } : { name: `${name}.<sha256>.enc` };
}

/**
 * The release folder's files with their sizes. Symlinks are followed (a Hugging Face cache snapshot
 * is all links into its blobs; inputs are only read); a dangling link or a FIFO is listed with what
 * is wrong with it, so that a recipe file it stands for gets a message that says so.
 */
async function listReleaseFolder(encDir: string): Promise<Map<string, number | string>> {
  const entries = await readdir(encDir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    const what = error.code === "ENOTDIR" ? "is a file, expected the downloaded release folder" : "folder not found";
    throw new InputError("ENC_FOLDER_MISSING", `${encDir}: ${what}; pass --enc <folder with the encrypted files>`);
  });
  const found = new Map<string, number | string>();
  await eachWithLimit(entries, IO_LANES, async (entry) => {
    if (entry.isDirectory()) return;
    const target = await stat(join(encDir, entry.name)).catch(() => undefined);
    if (target?.isFile()) found.set(entry.name, target.size);
    else if (!target?.isDirectory()) found.set(entry.name, target ? `is ${describeKind(target)}, not a file` : "is a symlink to a file that does not exist (a dangling link)");
  });
  // In the folder's order, whatever order the lanes finished in.
  return new Map(entries.flatMap((e) => (found.has(e.name) ? [[e.name, found.get(e.name)!] as const] : [])));
}

async function checkSize(task: FileTask): Promise<void> {
  if (task.kind === "copy") return;
  const onDisk = task.outputBytes + task.headerBytes;
  if (task.outputBytes < 0) {
    throw new InputError("ENC_SIZE", `${task.source}: ${onDisk} bytes is shorter than the ${task.headerBytes}-byte header; the download is truncated, download it again`);
  }
  const expected = task.entry.size;
  if (expected !== undefined && task.outputBytes !== expected) {
    throw new InputError("ENC_SIZE", `${task.source}: file should be of size ${expected + task.headerBytes} but has size ${onDisk}; download it again`);
  }
  // A remote header is compared as it streams past (payload-source.ts), not fetched once more here.
  if (task.headerBytes > 0 && task.sha256 && !task.remote) await checkHeaderMatchesName(task.source, task.sha256);
}

/** The header holds the plaintext sha256, and so does the name: a file whose two disagree is not the file named. */
async function checkHeaderMatchesName(path: string, sha256: string): Promise<void> {
  const { handle } = await openRegularFile(path, "download");
  try {
    const header = Buffer.alloc(32);
    await handle.read(header, 0, 32, 0);
    const found = header.toString("hex");
    if (found !== sha256) {
      throw new InputError("ENC_CORRUPT", `${path}: header holds sha256 ${found} but the name says ${sha256}; the download is corrupt, download it again`);
    }
  } finally {
    await handle.close();
  }
}
