import { stat } from "node:fs/promises";
import { join } from "node:path";
import { KeyError, KeyFile, RepeatingPrefixKey, RewindingKey, ZeroPaddedKey, type KeySource } from "@model-recover/xor-core";
import { InputError } from "../errors.js";
import type { LoadedRecipe } from "../recipe/types.js";
import type { FileTask } from "./plan.js";

/**
 * The key material of a release, as its pipeline describes it: one base file keying every file
 * (spec §1, §3), or a base folder whose same-named file keys each file (spec §2).
 */
export class KeyProvider {
  private readonly perFile = new Map<FileTask, KeySource>();

  private constructor(
    private readonly loaded: LoadedRecipe,
    readonly basePath: string,
    private readonly shared: KeySource | undefined,
  ) {}

  static async open(loaded: LoadedRecipe, basePath: string): Promise<KeyProvider> {
    const { pipeline } = loaded;
    if (pipeline.key.material === "base-folder") {
      const info = await stat(basePath).catch(() => undefined);
      if (!info?.isDirectory()) throw new InputError("BASE_MISSING", `${basePath}: not a folder; ${loaded.recipe.title} needs ${describeBase(loaded)} (a folder)`);
      return new KeyProvider(loaded, basePath, undefined);
    }
    try {
      if (pipeline.key.keystream === "repeating-prefix") return new KeyProvider(loaded, basePath, await RepeatingPrefixKey.open(basePath, pipeline.key.prefixBytes ?? 0));
      const key = await KeyFile.open(basePath);
      const size = loaded.base.size;
      if (size !== undefined && key.size !== size) {
        await key.close();
        throw new InputError("BASE_WRONG", `${basePath}: base should be of size ${size} but has size ${key.size}; ${loaded.recipe.title} needs ${describeBase(loaded)}`);
      }
      return new KeyProvider(loaded, basePath, new RewindingKey(key));
    } catch (error) {
      if (!(error instanceof KeyError)) throw error;
      const code = error.code === "KEY_EMPTY" ? "BASE_EMPTY" : error.code === "KEY_CHANGED" ? "BASE_WRONG" : "BASE_MISSING";
      throw new InputError(code, `${error.message}; ${loaded.recipe.title} needs ${describeBase(loaded)}`);
    }
  }

  /** For a base folder: the base file that keys `task`. */
  baseFileFor(task: FileTask): string | undefined {
    return this.loaded.pipeline.key.material === "base-folder" ? join(this.basePath, task.entry.name) : undefined;
  }

  /** The key source of a file to decrypt (opened once per file for a base folder). */
  async sourceFor(task: FileTask): Promise<KeySource> {
    if (this.shared) return this.shared;
    let source = this.perFile.get(task);
    if (!source) {
      source = await ZeroPaddedKey.open(this.baseFileFor(task)!);
      this.perFile.set(task, source);
    }
    return source;
  }

  async release(task: FileTask): Promise<void> {
    const source = this.perFile.get(task);
    this.perFile.delete(task);
    await source?.close();
  }

  async close(): Promise<void> {
    await Promise.all([...this.perFile.values()].map((s) => s.close()));
    this.perFile.clear();
    await this.shared?.close();
  }
}

export function describeBase({ base }: LoadedRecipe): string {
  return base.md5 ? `${base.title} (md5 ${base.md5})` : base.title;
}
