import { lstat, readFile, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { type FileIdentity, identityOf, isFileIdentity, sameIdentity, writeFresh } from "@model-recover/safe-fs";
import type { FileStatus } from "../recover/events.js";
import { STATE_DIR } from "../recover/output-folder.js";
import type { VerifiedFile } from "../recover/verify.js";

const STATE_FILE = "conversion.json";

interface Made {
  identity: FileIdentity;
  file: VerifiedFile;
  /** weight-diff: what this file's parameters added to the model's sum, so a resumed run checks the whole. */
  sum?: number;
}

/**
 * What an output folder holds of a conversion: the identity of the inputs it was made from (each
 * input's device, inode, size, mtime and ctime, the format and the published hashes), and each
 * output verified from them with its identity then. A run from the same inputs keeps the outputs
 * that are still those very files, so an interrupted conversion continues with the next shard;
 * any other inputs start the record afresh.
 */
export class ConversionState {
  private constructor(
    private readonly outDir: string,
    private readonly inputs: string,
    private readonly made: Map<string, Made>,
  ) {}

  static async open(outDir: string, inputs: string): Promise<ConversionState> {
    const saved = await readFile(join(outDir, STATE_DIR, STATE_FILE), "utf8").then(
      (text) => JSON.parse(text) as { inputs?: unknown; made?: unknown },
      () => undefined,
    ).catch(() => undefined);
    const made = new Map<string, Made>();
    if (saved?.inputs === inputs && Array.isArray(saved.made)) for (const entry of saved.made.filter(isMade)) made.set(entry.file.name, entry);
    const state = new ConversionState(outDir, inputs, made);
    await state.save();
    return state;
  }

  /** `name` as an earlier run from these inputs verified it, if the file on disk is still that file. */
  async reusable(name: string, bytes: number): Promise<(FileStatus & { sum?: number }) | undefined> {
    const entry = this.made.get(name);
    const info = await lstat(join(this.outDir, name)).catch(() => undefined);
    if (!entry || !info?.isFile() || entry.file.bytes !== bytes || !sameIdentity(identityOf(info), entry.identity)) return undefined;
    return { status: "verified", file: entry.file, reused: true, ...(entry.sum !== undefined ? { sum: entry.sum } : {}) };
  }

  async record(file: VerifiedFile, sum?: number): Promise<void> {
    this.made.set(file.name, { identity: identityOf(await lstat(join(this.outDir, file.name))), file, ...(sum !== undefined ? { sum } : {}) });
    await this.save();
  }

  /**
   * Removes the outputs a later check refused (weight-diff's sum) and forgets them: each only while it
   * is still the very file recorded, so nothing else under its name is ever removed.
   */
  async discard(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const entry = this.made.get(name);
      const info = await lstat(join(this.outDir, name)).catch(() => undefined);
      if (entry && info?.isFile() && sameIdentity(identityOf(info), entry.identity)) await unlink(join(this.outDir, name));
      this.made.delete(name);
    }
    await this.save();
  }

  private save(): Promise<void> {
    return writeFresh(join(this.outDir, STATE_DIR, STATE_FILE), `${JSON.stringify({ inputs: this.inputs, made: [...this.made.values()] }, null, 1)}\n`);
  }
}

/** The identity of a conversion's inputs and settings, without reading the inputs. */
export async function inputsIdentity(paths: readonly string[], settings: object): Promise<string> {
  const identities = [];
  for (const path of paths) {
    const info = await stat(path, { bigint: true });
    identities.push(`${path}|${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`);
  }
  return JSON.stringify({ identities, settings });
}

function isMade(value: unknown): value is Made {
  const entry = value as Made;
  const file = entry?.file;
  return isFileIdentity(entry?.identity) && (entry.sum === undefined || Number.isFinite(entry.sum)) && typeof file?.name === "string" && Number.isSafeInteger(file.bytes) && (file.md5 === undefined || /^[0-9a-f]{32}$/.test(file.md5)) && /^[0-9a-f]{64}$/.test(file.sha256 ?? "") && Array.isArray(file.checks) && file.checks.every((check) => check === "card-md5");
}
