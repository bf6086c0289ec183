import { join, resolve } from "node:path";
import { overlapOf, writeFresh } from "@model-recover/safe-fs";
import { convertTorchFileToSafetensors } from "@model-recover/torch-format";
import { explainWriteError, InterruptedError } from "../errors.js";
import { OutputFolder } from "../recover/output-folder.js";
import { refuseSpecialFiles } from "../inspect/folder-listing.js";
import { linkedEntryFolders, refuseOverlaps } from "../recover/overlaps.js";
import { checkRoom } from "../recover/preflight.js";
import { TempOutput } from "../recover/temp-output.js";
import { copyInto } from "./copy-file.js";
import type { ConvertedShard, ConvertEvent, ConvertSummary } from "./events.js";
import { type ConvertPlan, planConversion } from "./plan.js";
import { SAFETENSORS_INDEX } from "./safetensors-index.js";

export interface ConvertOptions {
  /** A recovered model folder: config.json, pytorch_model*.bin and their index. */
  inDir: string;
  /** Where the safetensors files go; by default next to the .bin files, which are never touched. */
  outDir?: string;
  onEvent?: (event: ConvertEvent) => void;
  /** Checked between files: each file is converted whole or not at all. */
  signal?: AbortSignal;
}

/** An output written under its temporary name, and its size once complete. */
interface Pending {
  temp: TempOutput;
  bytes: number;
}

/**
 * A recovered folder's .bin shards to safetensors, as HF's convert.py would write them. The folder
 * (by inspect) and the overlap are checked before the output folder is touched, the room once it is
 * claimed; each output is written under a temporary name in <out>/.model-recover and all are
 * published, the index last, only once every one is complete: a failure or Ctrl-C leaves no new
 * file behind.
 */
export async function convertFolder(options: ConvertOptions): Promise<ConvertSummary> {
  const started = performance.now();
  const { onEvent = () => {}, signal } = options;
  const inDir = resolve(options.inDir);
  const outDir = resolve(options.outDir ?? inDir);
  const plan = await planConversion(inDir);
  // The folder itself is where convert.py's outputs belong, next to the .bin files; any other
  // overlap (inside it, or holding it) is refused as recover refuses it.
  const inPlace = (await overlapOf(outDir, inDir)) === "same";
  if (!inPlace) {
    // The real folder a linked shard or file lies in is an input too: outputs there would replace its neighbours.
    await refuseOverlaps(outDir, [{ path: inDir, what: "model folder" }, ...(await linkedEntryFolders(inDir, "model folder"))]);
    await refuseSpecialFiles(inDir, plan.copyNames, "convert copies the folder's other files to --out");
  }
  const copies = inPlace ? [] : plan.copies;
  const totalBytes = plan.shards.reduce((sum, s) => sum + s.bytes, 0);
  onEvent({ type: "planned", shards: plan.shards, copies: copies.map((c) => c.name), totalBytes, inPlace });
  const folder = await OutputFolder.claim(outDir);
  const pending: Pending[] = [];
  try {
    const neededBytes = totalBytes + copies.reduce((sum, c) => sum + c.bytes, 0);
    onEvent({ type: "room-checked", neededBytes, ...(await checkRoom(outDir, neededBytes)) });
    const shards = await convertShards(inDir, folder, plan, pending, onEvent, signal);
    for (const copy of copies) {
      if (signal?.aborted) throw new InterruptedError([]);
      const output = await prepare(folder, copy.name, pending);
      output.bytes = await copyInto(join(inDir, copy.name), output.temp);
    }
    while (pending.length > 0) {
      await pending[0]!.temp.publish(pending[0]!.bytes);
      pending.shift();
    }
    if (plan.index) await writeFresh(join(outDir, SAFETENSORS_INDEX), plan.index);
    onEvent({ type: "published", files: [...shards.map((s) => s.safetensors), ...(plan.index ? [SAFETENSORS_INDEX] : []), ...copies.map((c) => c.name)] });
    const seconds = (performance.now() - started) / 1000;
    return { inDir, outDir, inPlace, shards, index: plan.index ? SAFETENSORS_INDEX : null, copied: copies.map((c) => c.name), warnings: plan.warnings, seconds };
  } catch (error) {
    throw explainWriteError(error, outDir);
  } finally {
    for (const { temp } of pending) await temp.discard();
    await folder.release();
  }
}

async function convertShards(inDir: string, folder: OutputFolder, plan: ConvertPlan, pending: Pending[], onEvent: (event: ConvertEvent) => void, signal: AbortSignal | undefined): Promise<ConvertedShard[]> {
  const converted: ConvertedShard[] = [];
  for (const { bin, safetensors, bytes } of plan.shards) {
    if (signal?.aborted) throw new InterruptedError([]);
    onEvent({ type: "shard-started", bin, safetensors, bytes });
    const output = await prepare(folder, safetensors, pending);
    const result = await convertTorchFileToSafetensors(join(inDir, bin), output.temp.handle, { discardNames: plan.discardNames });
    output.bytes = result.bytesWritten;
    const shard = { bin, safetensors, binBytes: bytes, bytes: result.bytesWritten, tensors: result.tensors.length, droppedNames: result.droppedNames };
    converted.push(shard);
    onEvent({ type: "shard-converted", shard });
  }
  return converted;
}

/** A fresh temporary output for `name` in the state folder, registered so that a failure discards it. */
async function prepare(folder: OutputFolder, name: string, pending: Pending[]): Promise<Pending> {
  const output = { temp: await TempOutput.create(folder.partialPath(name), join(folder.dir, name)), bytes: 0 };
  pending.push(output);
  return output;
}
