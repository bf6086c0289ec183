import { constants } from "node:fs";
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";

const PARTIAL_SUFFIX = ".model-recover-partial";

/** The temporary name of an output while it is written and before it verified. */
export const partialName = (name: string) => `.${name}${PARTIAL_SUFFIX}`;
export const isPartialName = (name: string) => name.startsWith(".") && name.endsWith(PARTIAL_SUFFIX);

/**
 * An output file under its temporary name in the output folder. It appears under its final name only
 * through `publish`, after the caller verified it; `discard` removes it.
 */
export class TempOutput {
  private constructor(
    readonly path: string,
    readonly finalPath: string,
    readonly handle: FileHandle,
  ) {}

  static async create(outDir: string, name: string): Promise<TempOutput> {
    const path = join(outDir, partialName(name));
    await rm(path, { force: true });
    // O_EXCL refuses a symlink planted under the temporary name instead of writing through it.
    const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    return new TempOutput(path, join(outDir, name), handle);
  }

  async write(bytes: Uint8Array, position: number): Promise<void> {
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, written, bytes.length - written, position + written);
      written += bytesWritten;
    }
  }

  /** fsync, close and rename over the final name (rename replaces a symlink there, never follows it). */
  async publish(): Promise<void> {
    await this.handle.sync();
    await this.handle.close();
    await rename(this.path, this.finalPath);
  }

  async discard(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}
