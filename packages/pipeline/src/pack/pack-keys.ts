import { stat } from "node:fs/promises";
import { join } from "node:path";
import { KeyFile, RepeatingPrefixKey, RewindingKey, ZeroPaddedKey, type KeySource } from "@model-recover/xor-core";
import { InputError } from "../errors.js";
import type { PipelineDefinition } from "../recipe/pipelines.js";

/** The key of each file to pack, as the format's pipeline says: one base file, or a base folder's same-named file. */
export class PackKeys {
  private constructor(
    private readonly pipeline: PipelineDefinition,
    private readonly basePath: string,
    private readonly shared: KeySource | undefined,
  ) {}

  static async open(pipeline: PipelineDefinition, basePath: string): Promise<PackKeys> {
    if (pipeline.key.material === "base-folder") return new PackKeys(pipeline, basePath, undefined);
    if (pipeline.key.keystream === "repeating-prefix") return new PackKeys(pipeline, basePath, await RepeatingPrefixKey.open(basePath, pipeline.key.prefixBytes ?? 0));
    return new PackKeys(pipeline, basePath, new RewindingKey(await KeyFile.open(basePath)));
  }

  /** The key of `name`; none for the files the format copies as they are (spec §2: added_tokens.json). */
  async sourceFor(name: string): Promise<KeySource | undefined> {
    if (this.shared) return this.shared;
    const file = join(this.basePath, name);
    if ((await stat(file).catch(() => undefined))?.isFile()) return ZeroPaddedKey.open(file);
    if (this.pipeline.key.copyWithoutBase?.includes(name)) return undefined;
    throw new InputError("BASE_MISSING", `${file}: the base folder has no ${name}, and ${this.pipeline.name} copies only ${this.pipeline.key.copyWithoutBase?.join(", ") ?? "nothing"} without a base file`);
  }

  async release(source: KeySource | undefined): Promise<void> {
    if (source && source !== this.shared) await source.close();
  }

  async close(): Promise<void> {
    await this.shared?.close();
  }
}
