import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { RecoverSummary } from "../recover/events.js";

/**
 * What a recovery produced, without the weights: the file that turbo caches for a recovery task.
 * On a cache hit it comes back alone, and the files it names are put back from the output store.
 */
export type RunReceipt = SuccessReceipt | { ok: false; recipe: string; exitCode: number; message: string };
export interface SuccessReceipt {
  ok: true;
  recipe: string;
  files: { name: string; size: number; sha256: string; md5?: string }[];
}

export function receiptOf(summary: RecoverSummary): SuccessReceipt {
  const files = summary.files.flatMap((f) => (f.status === "verified" && f.file.sha256 ? [{ name: f.file.name, size: f.file.bytes, sha256: f.file.sha256, ...(f.file.md5 ? { md5: f.file.md5 } : {}) }] : []));
  return { ok: true, recipe: summary.recipe, files };
}

export async function writeReceipt(file: string, receipt: RunReceipt): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, `${JSON.stringify(receipt, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

export async function readReceipt(file: string): Promise<RunReceipt | undefined> {
  const text = await readFile(file, "utf8").catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as RunReceipt);
}
