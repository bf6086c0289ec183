import { randomBytes } from "node:crypto";
import { chmod, lstat, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { hashFile } from "@model-recover/md5-manifest";
import { type FileIdentity, identityOf, isFileIdentity, makeFolder, readSmallFile, regularFileIdentity, sameIdentity, writeFresh } from "@model-recover/safe-fs";
import { checkPlainFileName } from "@model-recover/hf-layout";
import { InputError } from "../errors.js";
import { STATE_DIR } from "../recover/output-folder.js";
import type { VerifiedFile } from "../recover/verify.js";

/** The record that makes a folder a store entry: written last, once every file in it verified. */
export const VERIFIED_FILE = ".verified.json";
/** A record names its files; 10,000 of them with identities fit easily. */
const MAX_RECORD_BYTES = 8 * 1024 * 1024;

export interface EntryFile {
  name: string;
  bytes: number;
  sha256: string;
  md5?: string;
  identity: FileIdentity;
}

export interface EntryRecord {
  recipe: string;
  key: string;
  /** When the entry was verified (ISO 8601). */
  made: string;
  /** What the entry was made from, as it was checked then. */
  inputs: { name: string; bytes: number; md5?: string }[];
  files: EntryFile[];
}

export type EntryState = { state: "absent" } | { state: "verified"; dir: string; record: EntryRecord } | { state: "damaged"; dir: string; reason: string };

/**
 * The verified output folders of recipes other recipes build on, at `<store>/recipes/<recipe>/<key>/`
 * (a conversion of LLaMA-30B is the base of every 30B release). An entry is made in
 * `<key>.partial/` (where an interrupted run continues) and renamed to `<key>/` only once every
 * file verified and `.verified.json` lists them, so a half-made entry is never taken for one. On
 * reuse each file is checked against the identity recorded for it (a changed file has a new ctime)
 * and hashed again when that changed; a file that no longer holds its sha256 makes the entry damaged.
 * Everything is written inside the store: a link planted in its folders is refused, never followed.
 */
export class RecipeStore {
  constructor(readonly dir: string) {}

  entryDir(recipe: string, key: string): string {
    return join(this.dir, "recipes", recipe, key);
  }

  async find(recipe: string, key: string): Promise<EntryState> {
    const dir = this.entryDir(recipe, key);
    const info = await lstat(dir).catch(() => undefined);
    if (!info) return { state: "absent" };
    if (!info.isDirectory()) return { state: "damaged", dir, reason: `${dir} is not a folder` };
    const record = await readRecord(join(dir, VERIFIED_FILE));
    if (!record || record.recipe !== recipe || record.key !== key) return { state: "damaged", dir, reason: `${join(dir, VERIFIED_FILE)} is missing or not a record of this entry` };
    const listed = new Set([VERIFIED_FILE, ...record.files.map((f) => f.name)]);
    const extra = (await readdir(dir)).find((name) => !listed.has(name));
    if (extra !== undefined) return { state: "damaged", dir, reason: `${join(dir, extra)} is not a file the entry was made with` };
    let changed = false;
    for (const file of record.files) {
      const path = join(dir, file.name);
      const found = await regularFileIdentity(path);
      if (found && sameIdentity(found, file.identity)) continue;
      if (!found || found.size !== file.bytes) return { state: "damaged", dir, reason: `${path} is ${found ? `${found.size} bytes, not ${file.bytes}` : "missing or not a regular file"}` };
      const { sha256 } = await hashFile(path, ["sha256"]);
      const after = await regularFileIdentity(path);
      if (sha256 !== file.sha256 || !after || !sameIdentity(found, after)) return { state: "damaged", dir, reason: `${path} changed since it verified (sha256 ${sha256}, not ${file.sha256})` };
      file.identity = after;
      changed = true;
    }
    // Touched but unchanged files keep the entry; their new identities spare the next run the hashing.
    if (changed) await writeFresh(join(dir, VERIFIED_FILE), recordText(record));
    return { state: "verified", dir, record };
  }

  /** The folder an entry is made in: `<store>/recipes/<recipe>/<key>.partial`, it and its parents real folders. */
  async partialDir(recipe: string, key: string): Promise<string> {
    const recipes = join(this.dir, "recipes");
    const partial = `${this.entryDir(recipe, key)}.partial`;
    await makeFolder(this.dir);
    for (const path of [recipes, join(recipes, recipe), partial]) {
      await makeFolder(path);
      const info = await lstat(path);
      if (!info.isDirectory()) throw new InputError("OUT_NOT_WRITABLE", `${path}: is not a folder (a link?) in the store; the store writes only inside itself: remove it and run again`);
    }
    return partial;
  }

  /**
   * The verified files of `partial` become the entry: each made read-only (the base of later
   * recoveries is read, never written), the state folder of the run that made them removed, the
   * record written, and the folder renamed into place over any damaged entry of the same key.
   */
  async commit(partial: string, record: Omit<EntryRecord, "files" | "made">, files: readonly VerifiedFile[]): Promise<string> {
    const entries: EntryFile[] = [];
    for (const file of files) {
      const path = join(partial, file.name);
      await chmod(path, 0o444);
      entries.push({ name: file.name, bytes: file.bytes, sha256: file.sha256!, ...(file.md5 ? { md5: file.md5 } : {}), identity: identityOf(await lstat(path)) });
    }
    await rm(join(partial, STATE_DIR), { recursive: true, force: true });
    await writeFresh(join(partial, VERIFIED_FILE), recordText({ ...record, made: new Date().toISOString(), files: entries }));
    const dir = this.entryDir(record.recipe, record.key);
    await this.discard(dir);
    await rename(partial, dir);
    return dir;
  }

  /** A damaged entry, moved aside in one step (nothing may use it meanwhile) and then removed. */
  async discard(dir: string): Promise<void> {
    const aside = `${dir}.damaged-${process.pid}-${randomBytes(4).toString("hex")}`;
    const moved = await rename(dir, aside).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return false;
        throw error;
      },
    );
    if (moved) await rm(aside, { recursive: true, force: true });
  }
}

const recordText = (record: EntryRecord) => `${JSON.stringify(record, null, 1)}\n`;

/** A record read back as untrusted input: only plain file names, whole sizes, well-formed digests. */
async function readRecord(path: string): Promise<EntryRecord | undefined> {
  const value: unknown = await readSmallFile(path, MAX_RECORD_BYTES, "store record").then(JSON.parse, () => undefined).catch(() => undefined);
  const record = value as EntryRecord | undefined;
  if (typeof record?.recipe !== "string" || typeof record.key !== "string" || !Array.isArray(record.files) || !Array.isArray(record.inputs) || record.files.length === 0) return undefined;
  return record.files.every(isEntryFile) ? record : undefined;
}

function isEntryFile(value: unknown): value is EntryFile {
  const f = value as EntryFile;
  return (
    typeof f?.name === "string" &&
    checkPlainFileName(f.name).ok &&
    f.name !== STATE_DIR &&
    Number.isSafeInteger(f.bytes) &&
    f.bytes >= 0 &&
    /^[0-9a-f]{64}$/.test(f.sha256 ?? "") &&
    (f.md5 === undefined || /^[0-9a-f]{32}$/.test(f.md5)) &&
    isFileIdentity(f.identity)
  );
}
