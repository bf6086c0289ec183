import { checkPlainFileName } from "@model-recover/hf-layout";
import { readSmallFile } from "@model-recover/safe-fs";
import { type AnyLoadedRecipe, isTensorRecipe, type KnownOutput, type RecoverSummary } from "@model-recover/pipeline";

/**
 * What a recovery produced, without the weights: the file turbo caches for a recovery task. On a
 * cache hit it comes back alone, and the files it names are checked and put back from the store.
 */
const SAFETENSORS_OUTPUT = /^(model(-\d{5}-of-\d{5})?\.safetensors|model\.safetensors\.index\.json)$/;

/** What turbo caches for a chained recipe's base step: the output itself is the content store's. */
export type BaseReceipt = { ok: true; recipe: string; step: "converted" | "reused" } | { ok: false; recipe: string; exitCode: number };

export type RunReceipt = SuccessReceipt | { ok: false; recipe: string; exitCode: number };
export interface SuccessReceipt {
  ok: true;
  recipe: string;
  files: ({ name: string } & KnownOutput)[];
}

export function receiptOf(summary: RecoverSummary): SuccessReceipt {
  const files = summary.files.flatMap((f) => (f.status === "verified" && f.file.sha256 ? [{ name: f.file.name, size: f.file.bytes, sha256: f.file.sha256, ...(f.file.md5 ? { md5: f.file.md5 } : {}) }] : []));
  return { ok: true, recipe: summary.recipe, files };
}

/**
 * A receipt turbo put back, read as untrusted input: only entries that name a file of this recipe
 * by a plain file name, with a whole size and well-formed digests, are kept (a cache entry saying
 * `../x.json` never leads a write out of the output folder). Undefined when it is not a success.
 */
export async function readKnownOutputs(file: string, loaded: AnyLoadedRecipe): Promise<Map<string, KnownOutput> | undefined> {
  const value: unknown = await readSmallFile(file, 32 * 1024 * 1024, "cached receipt").then(JSON.parse, () => undefined).catch(() => undefined);
  const receipt = value as SuccessReceipt | undefined;
  if (receipt?.ok !== true || receipt.recipe !== loaded.recipe.name || !Array.isArray(receipt.files)) return undefined;
  const names = new Set(loaded.recipe.files.map((f) => f.name));
  // A tensor recipe's --to safetensors outputs are named by the conversion, not by the recipe.
  const isOutput = (name: string) => names.has(name) || (isTensorRecipe(loaded) && SAFETENSORS_OUTPUT.test(name));
  const known = new Map<string, KnownOutput>();
  for (const f of receipt.files) {
    if (typeof f?.name !== "string" || !checkPlainFileName(f.name).ok || !isOutput(f.name)) continue;
    if (!Number.isSafeInteger(f.size) || f.size < 0 || typeof f.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(f.sha256)) continue;
    if (f.md5 !== undefined && (typeof f.md5 !== "string" || !/^[0-9a-f]{32}$/.test(f.md5))) continue;
    known.set(f.name, { size: f.size, sha256: f.sha256, ...(f.md5 ? { md5: f.md5 } : {}) });
  }
  return known;
}
