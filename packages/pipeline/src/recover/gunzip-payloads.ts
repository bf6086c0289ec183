import { createReadStream, createWriteStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { InputError } from "../errors.js";
import type { FileTask } from "./plan.js";
import { partialName } from "./temp-output.js";

/**
 * xor_codec's --compress mode (spec §2) gzips the XORed payload, and a gzip stream cannot be read at
 * an offset, so each payload is first gunzipped into the output folder, under a temporary name that
 * an interrupted run cleans like any other, and recovered from there.
 */
export async function gunzipPayloads(tasks: FileTask[], outDir: string): Promise<{ tasks: FileTask[]; cleanup: () => Promise<void> }> {
  const made: string[] = [];
  const cleanup = async () => {
    await Promise.all(made.map((path) => rm(path, { force: true })));
  };
  try {
    const result: FileTask[] = [];
    for (const task of tasks) {
      if (task.kind !== "decrypt") {
        result.push(task);
        continue;
      }
      const plain = join(outDir, partialName(`${task.entry.name}.gunzip`));
      made.push(plain);
      await pipeline(createReadStream(task.source), createGunzip(), createWriteStream(plain, { flags: "wx" })).catch((error: Error) => {
        throw new InputError("ENC_CORRUPT", `${task.source}: not a gzip stream (${error.message}); is this a release made without --compress? use the xor-codec pipeline`);
      });
      result.push({ ...task, readFrom: plain, outputBytes: (await stat(plain)).size });
    }
    return { tasks: result, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
