import { join } from "node:path";
import type { FileIdentity } from "@model-recover/safe-fs";
import { TorchFormatError } from "@model-recover/torch-format";
import { safetensorsIndexJson } from "../convert/safetensors-index.js";
import { InputError } from "../errors.js";
import type { FileJob } from "./file-job.js";
import type { OutputFolder } from "./output-folder.js";
import type { DerivedFrom } from "./receipts.js";
import { TempOutput } from "./temp-output.js";
import type { VerifiedFile } from "./verify.js";

/** One file a recovered task put under its final name. */
export interface PublishedOutput {
  file: VerifiedFile;
  identity: FileIdentity;
  /** A converted output: the recovered file it was made from, as that verified. */
  from?: DerivedFrom;
}

/** An index is a few kilobytes of JSON; anything this big is not one. */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

/**
 * Publish what a task made, once its recovered bytes verified (`source`): the recovered file itself,
 * and with --to safetensors its converted form; a `.bin` shard or index converted without
 * --keep-bin is dropped once its safetensors counterpart is published.
 */
export async function publishOutputs(job: FileJob, source: VerifiedFile, folder: OutputFolder): Promise<PublishedOutput[]> {
  const { task } = job;
  const convert = task.convert;
  const published: PublishedOutput[] = [];
  const from: DerivedFrom = { name: task.entry.name, ...(source.md5 ? { md5: source.md5 } : {}), ...(source.sha256 ? { sha256: source.sha256 } : {}) };
  const derived = (name: string, bytes: number) => ({ name, bytes, checks: source.checks, from: task.entry.name });
  if (convert?.to === "safetensors-shard") {
    const conversion = await job.converted!.end().catch((error: unknown) => {
      if (!(error instanceof TorchFormatError)) throw error;
      throw new InputError("CONVERT_FAILED", `${task.entry.name} verified, but cannot be converted to safetensors: ${error.problem}; recover it without --to safetensors`);
    });
    if (convert.keepSource) published.push({ file: source, identity: await job.output!.publish(task.outputBytes) });
    published.push({ file: derived(convert.name, conversion.bytesWritten), identity: await job.converted!.publish(), from });
    return published;
  }
  if (convert?.to === "safetensors-index") {
    const text = safetensorsIndexJson(await readIndex(job));
    const temp = await TempOutput.create(folder.partialPath(convert.name), join(folder.dir, convert.name));
    const bytes = Buffer.from(text);
    await temp.write(bytes, 0);
    if (convert.keepSource) published.push({ file: source, identity: await job.output!.publish(task.outputBytes) });
    else await job.output!.discard();
    published.push({ file: derived(convert.name, bytes.length), identity: await temp.publish(bytes.length), from });
    return published;
  }
  return [{ file: source, identity: await job.output!.publish(task.outputBytes) }];
}

/** The recovered `.bin` index, read back from its temporary file (it verified against its header and card). */
async function readIndex(job: FileJob): Promise<Record<string, unknown>> {
  const size = job.task.outputBytes;
  if (size > MAX_INDEX_BYTES) throw new InputError("CONVERT_FAILED", `${job.task.entry.name}: ${size} bytes is too big for an index; recover it without --to safetensors`);
  const bytes = new Uint8Array(size);
  for (let filled = 0; filled < size; ) {
    const read = await job.output!.read(bytes.subarray(filled), filled);
    if (read === 0) throw new InputError("OUT_NOT_WRITABLE", `${job.output!.path}: shrank while being read back; another program is using the output folder`);
    filled += read;
  }
  const value: unknown = JSON.parse(Buffer.from(bytes).toString("utf8"));
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InputError("CONVERT_FAILED", `${job.task.entry.name}: not a JSON object; recover it without --to safetensors`);
  return value as Record<string, unknown>;
}
