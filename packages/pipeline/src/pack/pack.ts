import { createHash } from "node:crypto";
import { readdir, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { formatChecksumList, hashFile } from "@model-recover/md5-manifest";
import { checkPlainFileName } from "@model-recover/hf-layout";
import { checkOutputFile, describeKind, makeFolder, openRegularFile, type OutputFileName, writeOutputFile } from "@model-recover/safe-fs";
import { explainWriteError, InputError, RecipeError, UsageError, VerificationError } from "../errors.js";
import { resolveRecipe, validateRecipe, xorRecipe } from "../recipe/load-recipe.js";
import { loadXorPipeline, type PipelineDefinition } from "../recipe/pipelines.js";
import { recipeNameProblem } from "../recipe/validate.js";
import { linkedFolders, refuseOverlaps } from "../recover/overlaps.js";
import type { BaseCheckpoint, Recipe, RecipeFile } from "../recipe/types.js";
import { recover } from "../recover/recover.js";
import { ROUND_TRIP_DIR } from "../state-names.js";
import { copyFresh, encryptFile } from "./encrypt-file.js";
import { PackKeys } from "./pack-keys.js";

export interface PackOptions {
  modelDir: string;
  /** The base: a file (consolidated.00.pth) or, for a folder-keyed format (xor-codec), a folder. */
  basePath: string;
  outDir: string;
  name: string;
  /** A pipeline in pipelines/: xor-enc (default), xor-codec, xor-prefix. */
  format?: string;
  title?: string;
  baseTitle?: string;
  card?: string;
  prompt?: string;
  /** Files that travel in clear (a README). */
  clear?: string[];
  /** Where the recipe goes; by default `<name>.recipe.json` in outDir. */
  recipePath?: string;
  onFile?: (name: string) => void;
}

export interface PackResult {
  recipe: Recipe;
  recipePath: string;
  encList: string;
  plainList: string;
}

/**
 * Encrypt a fine-tuned folder against a base into a release of the chosen format, write the card's
 * two md5 lists and the recipe, and prove it all by recovering the release before reporting success.
 */
export async function packRelease(options: PackOptions): Promise<PackResult> {
  try {
    return await pack(options);
  } catch (error) {
    throw explainWriteError(error, options.outDir);
  }
}

/** --name is typed by the user, so a bad one is bad usage (exit 2), as in every format, not a broken recipe (3). */
export function refuseBadPackName(name: string): void {
  const problem = recipeNameProblem(name);
  if (problem) throw new UsageError(`--name ${problem}`);
}

async function pack(options: PackOptions): Promise<PackResult> {
  const { modelDir, outDir, name } = options;
  // Everything that can be refused is refused before the first byte is encrypted.
  const pipeline = await loadXorPipeline(options.format ?? "xor-enc", "--format").catch((error: unknown) => {
    throw error instanceof RecipeError ? new UsageError(error.message.replace(/^--format: \/pipeline: /, "--format ")) : error;
  });
  refuseBadPackName(name);
  const clear = new Set(options.clear ?? []);
  const names = await listModelFiles(modelDir);
  for (const wanted of clear) if (!names.includes(wanted)) throw new InputError("ENC_MISSING", `${join(modelDir, wanted)}: named with --clear but not in the model folder`);
  refuseLongPayloadNames(modelDir, names.filter((n) => !clear.has(n)), pipeline);
  const linked = names.flatMap((fileName) => [
    { path: join(modelDir, fileName), what: `folder that ${fileName} in the model folder (--model) links into` },
    ...(pipeline.key.material === "base-folder" ? [{ path: join(options.basePath, fileName), what: `folder that ${fileName} in the base (--base) links into` }] : []),
  ]);
  const inputs = [{ path: modelDir, what: "model folder (--model)" }, { path: options.basePath, what: "base (--base)" }, ...(await linkedFolders(linked))];
  await refuseOverlaps(outDir, inputs, "release folder (--out)");
  if (options.recipePath) await refuseOverlaps(options.recipePath, inputs, "recipe file (--recipe)");
  const recipeFile: OutputFileName = options.recipePath ? { path: options.recipePath, what: "recipe", flag: "--recipe" } : { path: join(outDir, `${name}.recipe.json`), what: "recipe", flag: "--out" };
  if (options.recipePath) await checkOutputFile(recipeFile);
  await makeFolder(outDir).catch((error: NodeJS.ErrnoException) => {
    throw new InputError("OUT_NOT_WRITABLE", `${outDir}: cannot create the release folder (${error.code ?? error.message}); pass another --out`);
  });
  const keys = await PackKeys.open(pipeline, options.basePath);
  const files: RecipeFile[] = [];
  const encEntries: { digest: string; name: string }[] = [];
  try {
    for (const fileName of names) {
      options.onFile?.(fileName);
      const source = join(modelDir, fileName);
      if (clear.has(fileName)) {
        const { md5, bytes } = await copyFresh(source, join(outDir, fileName));
        files.push({ name: fileName, clear: true, md5, size: bytes });
        continue;
      }
      const key = await keys.sourceFor(fileName);
      try {
        const enc = await encryptFile(source, fileName, key, outDir, pipeline);
        files.push({ name: fileName, ...(pipeline.header === "sha256" ? { sha256: enc.sha256 } : {}), encMd5: enc.encMd5, md5: enc.md5, size: enc.bytes });
        encEntries.push({ digest: enc.encMd5, name: `./${enc.encName}` });
      } finally {
        await keys.release(key);
      }
    }
  } finally {
    await keys.close();
  }
  const recipe = validateRecipe(`${name} (generated)`, {
    name,
    title: options.title ?? name,
    pipeline: pipeline.name,
    ...(options.card ? { card: options.card } : {}),
    base: await describeBase(pipeline, options),
    files,
    ...(options.prompt ? { prompt: options.prompt } : {}),
  });
  await writeOutputFile(recipeFile, `${JSON.stringify(recipe, null, 2)}\n`);
  const encList = join(outDir, `${name}.enc.md5`);
  const plainList = join(outDir, `${name}.md5`);
  await writeOutputFile({ path: encList, what: "md5 list", flag: "--out" }, formatChecksumList(encEntries));
  await writeOutputFile({ path: plainList, what: "md5 list", flag: "--out" }, formatChecksumList(files.map((f) => ({ digest: f.md5!, name: `./${f.name}` }))));
  await proveByRecovering(recipe, options);
  return { recipe, recipePath: recipeFile.path, encList, plainList };
}

/**
 * The files to pack: every regular file of the model folder (links followed), hidden ones left out
 * as `recipe from-folder` leaves them (a leftover temporary file is not part of a model).
 */
async function listModelFiles(modelDir: string): Promise<string[]> {
  const entries = await readdir(modelDir, { withFileTypes: true }).catch(() => {
    throw new InputError("ENC_FOLDER_MISSING", `${modelDir}: model folder not found; pass --model <fine-tuned Hugging Face folder>`);
  });
  const names: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(".") || entry.isDirectory()) continue;
    const info = await stat(join(modelDir, entry.name)).catch(() => undefined);
    if (!info?.isFile()) throw new InputError("ENC_NAME", `${join(modelDir, entry.name)}: is ${info ? describeKind(info) : "a dangling link"}, not a file; remove it from the model folder or replace it with the file`);
    const safe = checkPlainFileName(entry.name);
    if (!safe.ok) throw new InputError("ENC_NAME", `${join(modelDir, entry.name)}: ${JSON.stringify(entry.name)} ${safe.reason}`);
    names.push(entry.name);
  }
  if (names.length === 0) throw new InputError("ENC_MISSING", `${modelDir}: no files to pack`);
  return names.sort();
}

/** ext4, APFS and NTFS take names of at most 255 bytes; a payload's name adds `.<sha256>.enc` (spec §1). */
const MAX_NAME_BYTES = 255;

function refuseLongPayloadNames(modelDir: string, names: string[], pipeline: PipelineDefinition): void {
  const added = Buffer.byteLength(pipeline.encryptedName.replace("{name}", "").replace("{sha256}", "0".repeat(64)));
  for (const name of names) {
    const bytes = Buffer.byteLength(name) + added;
    if (bytes > MAX_NAME_BYTES) {
      throw new InputError("ENC_NAME", `${join(modelDir, name)}: its payload would be named ${pipeline.encryptedName.replace("{name}", "<name>").replace("{sha256}", "<sha256>")} in ${bytes} bytes, more than the ${MAX_NAME_BYTES} a file name may have; rename it to at most ${MAX_NAME_BYTES - added} bytes`);
    }
  }
}

/** The base as the recipe will describe it, hashed from the file or folder packed against. */
async function describeBase(pipeline: PipelineDefinition, options: PackOptions): Promise<BaseCheckpoint> {
  const title = options.baseTitle ?? basename(options.basePath);
  if (pipeline.key.material === "base-folder") {
    const files = [];
    // Links are followed: a converted base is often links into a shared copy.
    for (const fileName of (await readdir(options.basePath)).sort()) {
      if (!(await stat(join(options.basePath, fileName)).catch(() => undefined))?.isFile()) continue;
      const { md5, bytes } = await hashFile(join(options.basePath, fileName), ["md5"]);
      files.push({ name: fileName, md5: md5!, size: bytes });
    }
    return { title, files };
  }
  const base = await hashFile(options.basePath, ["md5", "sha256"]);
  const prefixBytes = pipeline.key.prefixBytes;
  const keyPrefix = prefixBytes ? { keyPrefix: { bytes: prefixBytes, md5: (await hashPrefix(options.basePath, prefixBytes)) } } : {};
  return { title, fileName: basename(options.basePath), size: base.bytes, md5: base.md5!, sha256: base.sha256!, ...keyPrefix };
}

async function hashPrefix(path: string, bytes: number): Promise<string> {
  const { handle } = await openRegularFile(path, "base checkpoint");
  try {
    const prefix = new Uint8Array(bytes);
    const { bytesRead } = await handle.read(prefix, 0, bytes, 0);
    return createHash("md5").update(prefix.subarray(0, bytesRead)).digest("hex");
  } finally {
    await handle.close();
  }
}

/** Recover into a scratch folder inside outDir; any failure means the release is not what we wrote. */
async function proveByRecovering(recipe: Recipe, options: PackOptions): Promise<void> {
  const scratch = join(options.outDir, ROUND_TRIP_DIR);
  await rm(scratch, { recursive: true, force: true });
  try {
    const loaded = xorRecipe(await resolveRecipe(recipe, { file: "(round trip)", root: options.outDir }));
    // The scratch folder lies inside the release folder it reads, on purpose: it is hidden, made and
    // removed here, and nothing else lives under its name.
    const summary = await recover({ loaded, encDir: options.outDir, basePath: options.basePath, outDir: scratch, checkFolder: false, scratchInsideRelease: true });
    for (const file of summary.files) {
      if (file.status === "failed") throw new VerificationError(file.name, `round trip failed, the release is not usable: ${file.message}`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
