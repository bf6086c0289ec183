import { createReadStream, createWriteStream } from "node:fs";
import { rm, stat, statfs } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { InputError } from "../errors.js";
import { formatBytes } from "../units.js";
import type { OutputFolder } from "./output-folder.js";
import type { FileTask } from "./plan.js";

/**
 * xor_codec's --compress mode (spec §2) gzips the XORed payload, and a gzip stream cannot be read at
 * an offset, so each payload is first gunzipped into the state folder, as scratch that an
 * interrupted run cleans like any other, and recovered from there. A gzip bomb (or a payload bigger
 * than the recipe says) is stopped while it expands, not after it filled the disk: every gunzipped
 * byte needs room twice (the scratch and the output), and the outputs' room is checked later.
 */
export async function gunzipPayloads(tasks: FileTask[], folder: OutputFolder): Promise<{ tasks: FileTask[]; cleanup: () => Promise<void> }> {
  const made: string[] = [];
  const cleanup = async () => {
    await Promise.all(made.map((path) => rm(path, { force: true })));
  };
  const info = await statfs(folder.dir);
  const budget = { left: Math.floor((Number(info.bavail) * Number(info.bsize)) / 2) };
  try {
    const result: FileTask[] = [];
    for (const task of tasks) {
      if (task.kind !== "decrypt") {
        result.push(task);
        continue;
      }
      const plain = folder.scratchPath(task.entry.name, "gunzip");
      made.push(plain);
      await pipeline(createReadStream(task.source), createGunzip(), limitExpansion(task, budget, folder.dir), createWriteStream(plain, { flags: "wx" })).catch((error: Error) => {
        if (error instanceof InputError) throw error;
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

function limitExpansion(task: FileTask, budget: { left: number }, outDir: string): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      budget.left -= chunk.length;
      const size = task.entry.size;
      if (size !== undefined && bytes > size) {
        return done(new InputError("ENC_CORRUPT", `${task.source}: expands past the ${size} bytes the recipe gives ${task.entry.name}; the download is corrupt or not this release, download it again`));
      }
      if (budget.left < 0) {
        return done(new InputError("NO_ROOM", `${outDir}: not enough room: the gzipped payloads expand past ${formatBytes(bytes)} for ${task.entry.name} alone and need that room twice; free some space or pass another --out`));
      }
      done(null, chunk);
    },
  });
}
