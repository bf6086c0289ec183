import { lstat, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { KnownOutput } from "@model-recover/pipeline";
import { readSmallFile, writeFresh } from "@model-recover/safe-fs";
import type { SuccessReceipt } from "./run-receipt.js";

/**
 * The store's own word on what a tensor recipe made from one set of inputs: `<store>/made/<digest>.json`,
 * written on a miss that verified. A cached receipt is anyone's who can write turbo's cache (a shared
 * or remote one), and a tensor recipe's outputs carry nothing that binds them to their inputs (an XOR
 * output's sha256 is in its .enc header; a delta's or a conversion's often has no published md5):
 * a receipt naming another model's verified files of the same names would be put back as this one's.
 * A hit stands only when the receipt says what the store recorded itself.
 */
const recordPath = (store: string, digest: string) => join(store, "made", `${digest}.json`);

export async function recordMade(store: string, digest: string, receipt: SuccessReceipt): Promise<void> {
  const folder = join(store, "made");
  await mkdir(folder, { recursive: true });
  // The store's folders are its own: a link planted as one would lead the record elsewhere.
  if (!(await lstat(folder)).isDirectory()) throw new Error(`${folder}: is not a folder (a symlink?)`);
  const files = receipt.files.map(({ name, size, sha256 }) => ({ name, size, sha256 }));
  await writeFresh(recordPath(store, digest), JSON.stringify({ recipe: receipt.recipe, files }));
}

/** Why the cached receipt is not what the store recorded for these inputs, or undefined when it is. */
export async function madeRecordProblem(store: string, digest: string, recipe: string, known: ReadonlyMap<string, KnownOutput>): Promise<string | undefined> {
  const value: unknown = await readSmallFile(recordPath(store, digest), 8 * 1024 * 1024, "store record").then(JSON.parse, () => undefined).catch(() => undefined);
  const record = value as { recipe?: unknown; files?: unknown } | undefined;
  if (record?.recipe !== recipe || !Array.isArray(record.files)) return "the store has no record of making it from these inputs";
  const recorded = new Map<string, unknown>(record.files.map((f: { name?: unknown }) => [String(f?.name), f]));
  for (const [name, { size, sha256 }] of known) {
    const entry = recorded.get(name) as { size?: unknown; sha256?: unknown } | undefined;
    if (entry?.size !== size || entry?.sha256 !== sha256) return `its ${name} is not the one the store recorded making from these inputs`;
  }
  if (recorded.size !== known.size) return "it names other files than the store recorded making from these inputs";
  return undefined;
}
