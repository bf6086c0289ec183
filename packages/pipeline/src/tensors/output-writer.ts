import { join } from "node:path";
import { MultiHasher } from "@model-recover/md5-manifest";
import type { PositionalWrite } from "@model-recover/torch-format";
import { PublishError, writeFresh } from "@model-recover/safe-fs";
import { explainWriteError, VerificationError } from "../errors.js";
import type { FileStatus, RecoverEvent } from "../recover/events.js";
import type { OutputFolder } from "../recover/output-folder.js";
import { TempOutput } from "../recover/temp-output.js";
import type { Check, VerifiedFile } from "../recover/verify.js";
import { HashingSink, SinkMemory } from "./hashing-sink.js";

export interface OutputWriterOptions {
  folder: OutputFolder;
  /** The md5 a card publishes for an output, by name; null or absent: none is published. */
  expectedMd5: ReadonlyMap<string, string | null>;
  onEvent: (event: RecoverEvent) => void;
  /** Says where the published hashes come from, in a mismatch's message ("LLaMA-30B's card"). */
  source: string;
}

/**
 * Writes the files of an output folder so that nothing unverified ever has a final name: each is
 * written under a temporary name in the state folder (small ones next to their name), hashed in the
 * same pass, compared with the md5 the card publishes, and only then renamed (publishHandle: the
 * very file that was written and hashed). A mismatch is reported as that file's failure. sha256 is
 * always computed (the output store's key); md5 where a card publishes one, since it costs more
 * than the conversion itself (md5 runs at about 0.75 GB/s on one core).
 */
export class OutputWriter {
  private readonly memory = new SinkMemory();

  constructor(private readonly options: OutputWriterOptions) {}

  /**
   * A file of `bytes` bytes that `produce` writes front to back through the given `write`;
   * `beforePublish` may still refuse it (an input that changed meanwhile) once it verified.
   */
  async writeStream(name: string, bytes: number, produce: (write: PositionalWrite) => Promise<void>, beforePublish?: () => Promise<void>): Promise<FileStatus> {
    const { folder, onEvent } = this.options;
    onEvent({ type: "file-started", name, bytes, resumedFrom: 0 });
    const output = await TempOutput.create(folder.partialPath(name), join(folder.dir, name), { direct: true });
    try {
      const algorithms = this.options.expectedMd5.get(name) ? (["sha256", "md5"] as const) : (["sha256"] as const);
      const sink = new HashingSink(this.memory, output, bytes, algorithms, (bytesDone) => onEvent({ type: "file-progress", name, bytesDone, bytes }));
      const produced = await produce(sink.write).then(
        () => sink.finish(),
        async (error: unknown) => {
          await sink.finish().catch(() => undefined);
          throw error;
        },
      );
      if (produced.bytes !== bytes) throw new Error(`${name}: planned as ${bytes} bytes but ${produced.bytes} were written`);
      const file = this.verified(name, produced);
      await beforePublish?.();
      await output.publish(bytes);
      return this.done(file);
    } catch (error) {
      await output.discard();
      return this.failed(name, bytes, error instanceof PublishError ? new VerificationError(name, `${name} did not verify: ${error.message}`) : error);
    }
  }

  /** A small file (a config, an index) written whole. */
  async writeText(name: string, text: string): Promise<FileStatus> {
    const bytes = Buffer.from(text, "utf8");
    this.options.onEvent({ type: "file-started", name, bytes: bytes.length, resumedFrom: 0 });
    const hasher = new MultiHasher(["md5", "sha256"]);
    hasher.update(bytes);
    const digests = hasher.digest();
    try {
      const file = this.verified(name, { bytes: bytes.length, md5: digests.md5!, sha256: digests.sha256! });
      await writeFresh(join(this.options.folder.dir, name), bytes);
      return this.done(file);
    } catch (error) {
      return this.failed(name, bytes.length, error);
    }
  }

  close(): Promise<void> {
    return this.memory.close();
  }

  /** The file as verified, or a VerificationError when its md5 is not the card's. */
  private verified(name: string, digests: { bytes: number; md5?: string; sha256?: string }): VerifiedFile {
    const expected = this.options.expectedMd5.get(name) ?? null;
    const checks: Check[] = [];
    if (expected !== null) {
      if (digests.md5 !== expected) {
        throw new VerificationError(name, `${name} did not verify (md5 ${digests.md5}, ${this.options.source} says ${expected}); nothing was written under its name`);
      }
      checks.push("card-md5");
    }
    return { name, bytes: digests.bytes, ...(digests.md5 ? { md5: digests.md5 } : {}), ...(digests.sha256 ? { sha256: digests.sha256 } : {}), checks };
  }

  private done(file: VerifiedFile): FileStatus {
    this.options.onEvent({ type: "file-verified", file });
    return { status: "verified", file, reused: false };
  }

  /** A file's own failure is reported and the run goes on; anything else (a full disk) ends the run. */
  private failed(name: string, bytes: number, error: unknown): FileStatus {
    if (!(error instanceof VerificationError)) throw explainWriteError(error, this.options.folder.dir);
    this.options.onEvent({ type: "file-failed", name, message: error.message });
    return { status: "failed", name, bytes, message: error.message, code: error.code };
  }
}
