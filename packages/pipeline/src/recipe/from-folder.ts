import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseEncFileName } from "@model-recover/hf-layout";
import { hashFile, type ChecksumEntry } from "@model-recover/md5-manifest";
import { InputError } from "../errors.js";
import { resolveRecipe, validateRecipe } from "./load-recipe.js";
import { loadXorPipeline, type PipelineDefinition } from "./pipelines.js";
import type { BaseCheckpoint, Recipe, RecipeFile } from "./types.js";

export interface FromFolderOptions {
  folder: string;
  name: string;
  /** A pipeline in pipelines/; xor-enc by default. */
  format?: string;
  /** md5 lists as a card shows them, payload and recovered names in any mix. */
  md5Lists: ChecksumEntry[];
  title?: string;
  card?: string;
  /** Where the release lives on the Hub (recover --from-hub, download). */
  hub?: { repo: string; revision?: string; folder?: string };
  prompt?: string;
  /** A base under manifests/bases/ by id, or what is known of it. */
  base?: string | Partial<BaseCheckpoint>;
}

export interface FromFolderResult {
  recipe: Recipe;
  /** Things a reviewer should know: hashes the card does not publish, files left out. */
  notes: string[];
}

/**
 * Build a recipe from a downloaded release and its card's md5 lists. A payload the card publishes an
 * md5 for is hashed and must match, so a corrupt download never becomes a recipe.
 */
export async function recipeFromFolder(options: FromFolderOptions): Promise<FromFolderResult> {
  const pipeline = await loadXorPipeline(options.format ?? "xor-enc", "--format");
  const published = new Map(options.md5Lists.map((e) => [e.name, e.digest]));
  const used = new Set<string>();
  const take = (name: string) => {
    const digest = published.get(name);
    if (digest !== undefined) used.add(name);
    return digest ?? null;
  };
  const files: RecipeFile[] = [];
  const notes: string[] = [];
  for (const fileName of await listFiles(options.folder)) {
    const payload = payloadOf(pipeline, fileName, published);
    if (payload) {
      // xor_codec payloads carry the recovered names, so a card's list names only the recovered files.
      const encMd5 = pipeline.encryptedName === "{name}" ? null : take(fileName);
      const path = join(options.folder, fileName);
      if (encMd5 !== null) await expectMd5(path, encMd5);
      const headerBytes = pipeline.header === "sha256" ? 32 : 0;
      const size = encMd5 !== null || headerBytes > 0 ? { size: (await stat(path)).size - headerBytes } : {};
      files.push({ name: payload.name, ...(payload.sha256 ? { sha256: payload.sha256 } : {}), encMd5, md5: take(payload.name), ...size });
      continue;
    }
    const md5 = take(fileName);
    if (md5 === null) notes.push(`${fileName}: not a payload of ${pipeline.name} and not in the recovered md5 list; left out of the recipe`);
    else files.push({ name: fileName, clear: true, md5 });
  }
  for (const file of files) {
    if (file.md5 === null) notes.push(`${file.name}: the card publishes no md5 of the recovered file${pipeline.header === "sha256" ? "; only its header sha256 will verify it" : "; nothing will verify it"}`);
  }
  for (const name of published.keys()) if (!used.has(name)) notes.push(`${name}: in the md5 lists but not in ${options.folder}`);
  const recipe = validateRecipe(`${options.name} (generated)`, {
    name: options.name,
    title: options.title ?? options.name,
    pipeline: pipeline.name,
    ...(options.card ? { card: options.card } : {}),
    ...(options.hub ? { hub: options.hub } : {}),
    base: typeof options.base === "string" ? options.base : { ...placeholderBase(pipeline), ...options.base },
    files: files.sort((a, b) => a.name.localeCompare(b.name)),
    ...(options.prompt ? { prompt: options.prompt } : {}),
  });
  await resolveRecipe(recipe, { file: `${options.name} (generated)`, root: options.folder });
  return { recipe, notes };
}

/** What `fileName` recovers to under the pipeline's naming, or nothing if it is not a payload. */
function payloadOf(pipeline: PipelineDefinition, fileName: string, published: Map<string, string>): { name: string; sha256?: string } | undefined {
  if (pipeline.encryptedName === "{name}.{sha256}.enc") {
    const parsed = parseEncFileName(fileName);
    return parsed.ok ? { name: parsed.value.plainName, sha256: parsed.value.sha256 } : undefined;
  }
  if (pipeline.encryptedName === "{name}.enc") return fileName.endsWith(".enc") ? { name: fileName.slice(0, -4) } : undefined;
  // xor_codec payloads keep their names: with lists, a payload is what the card lists; without, every file.
  return published.size === 0 || published.has(fileName) ? { name: fileName } : undefined;
}

function placeholderBase(pipeline: PipelineDefinition): BaseCheckpoint {
  if (pipeline.key.material === "base-folder") return { title: "LLaMA converted to Hugging Face format", files: [] };
  return { title: "LLaMA consolidated.00.pth", fileName: "consolidated.00.pth", md5: null, sha256: null };
}

async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => {
    throw new InputError("ENC_FOLDER_MISSING", `${folder}: folder not found; pass the downloaded release folder`);
  });
  // Hidden files (.gitattributes, .git) are never part of a release; links are followed (a Hugging
  // Face cache snapshot is all links into blobs/).
  const names: string[] = [];
  for (const entry of entries) {
    if (!entry.name.startsWith(".") && (await stat(join(folder, entry.name)).catch(() => undefined))?.isFile()) names.push(entry.name);
  }
  return names.sort();
}

async function expectMd5(path: string, published: string): Promise<void> {
  const { md5 } = await hashFile(path, ["md5"]);
  if (md5 !== published) throw new InputError("ENC_CORRUPT", `${path}: md5 ${md5} but the card says ${published}; download it again before making a recipe from it`);
}
