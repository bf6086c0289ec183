import { HashPool } from "@model-recover/md5-manifest";
import { PublishError } from "@model-recover/safe-fs";
import { KEY_CHUNK_BYTES, XorKernel } from "@model-recover/xor-core";
import { TorchFormatError } from "@model-recover/torch-format";
import { explainWriteError, InputError, InterruptedError, VerificationError } from "../errors.js";
import type { LoadedRecipe } from "../recipe/types.js";
import { eachWithLimit } from "./each-with-limit.js";
import { FileJob } from "./file-job.js";
import { type PublishedOutput, publishOutputs } from "./publish-outputs.js";
import { KeyCache } from "./key-cache.js";
import type { KeyProvider } from "./keys.js";
import type { OutputFolder } from "./output-folder.js";
import type { FileTask } from "./plan.js";
import { SlotPool } from "./slot-pool.js";
import { verifyDigests, type VerifiedFile, type VerifyMode } from "./verify.js";

/**
 * Slot size and count, chosen with `pnpm bench` (README, "Benchmark"): quarter key chunks keep the
 * hash threads fed without long waits for a read, and 16 of them (40 MiB) keep reads, XOR, both hashes
 * and writes of three shards overlapped. Peak RSS stays far below 256 MB whatever the release size.
 */
const SLOT_BYTES = KEY_CHUNK_BYTES / 4;
const SLOT_COUNT = 16;
/** Files whose chunk is being read at once; more only adds seeks. */
const FILES_IN_FLIGHT = 4;
/**
 * Key chunks in memory: one shared key needs the chunk in use, the next and one to spare; a base
 * folder keys each file, so one per file in flight and a read-ahead. Fewer buffers, fewer pages touched.
 */
const keyBuffersFor = (loaded: LoadedRecipe) => (loaded.pipeline.key.material === "base-folder" ? FILES_IN_FLIGHT + 2 : 3);
/**
 * How much work a crash may cost per file: every this many chunks each file's output is made durable
 * and its progress recorded (MODEL_RECOVER_CHECKPOINT_MB tunes it; tests crash small files).
 */
const CHECKPOINT_CHUNKS = Math.max(1, Math.round(Number(process.env.MODEL_RECOVER_CHECKPOINT_MB ?? 320) / 10));

export type FileOutcome = { ok: true; outputs: PublishedOutput[] } | { ok: false; error: unknown };

export interface EngineOptions {
  loaded: LoadedRecipe;
  keys: KeyProvider;
  folder: OutputFolder;
  verify: VerifyMode;
  /** Where each task may continue from, and the identity of its inputs (see OutputFolder.resumePoint). */
  resume: Map<FileTask, { from: number; inputs: string }>;
  /** Aborting (Ctrl-C) stops at the next chunk; each unfinished file keeps a resume point. */
  signal?: AbortSignal;
  onStarted: (task: FileTask, resumedFrom: number) => void;
  onBytes: (task: FileTask, bytesDone: number) => void;
  onFinished: (task: FileTask, outcome: FileOutcome) => Promise<void>;
}

/**
 * Recover `tasks` together: walk payload chunk 0, 1, 2… of every file at once, so each key chunk is
 * read once for the release (spec §1: every file starts at key offset 0); per chunk, read into shared
 * memory, XOR in place with SIMD, hash on worker threads (md5 and sha256 on different cores) and
 * write, all overlapped. Each file is verified and published as soon as its last chunk is done.
 */
export async function recoverTogether(tasks: FileTask[], options: EngineOptions): Promise<void> {
  const keyBuffers = keyBuffersFor(options.loaded);
  const keyBytes = KeyCache.bytesFor(keyBuffers);
  const kernel = new XorKernel(keyBytes + SLOT_BYTES * SLOT_COUNT);
  const hashes = new HashPool(kernel.buffer);
  const keys = new KeyCache(kernel, 0, keyBuffers);
  const shared = { folder: options.folder, kernel, hashes, slots: new SlotPool(keyBytes, SLOT_BYTES, SLOT_COUNT), verify: options.verify, onBytes: options.onBytes };
  // Biggest first: their hash streams are spread over the threads first, which balances them best.
  const jobs = [...tasks]
    .sort((a, b) => b.outputBytes - a.outputBytes)
    .map((task) => new FileJob(task, shared, options.resume.get(task)?.from ?? 0, options.resume.get(task)?.inputs ?? ""));
  const finishing: Promise<void>[] = [];
  try {
    const chunks = Math.max(0, ...jobs.map((job) => job.chunks));
    for (let chunk = 0; chunk < chunks && !options.signal?.aborted; chunk++) {
      const active = jobs.filter((job) => chunk < job.chunks);
      await eachWithLimit(active, FILES_IN_FLIGHT, (job) => step(job, chunk, keys, options, finishing));
    }
    if (options.signal?.aborted) {
      const unfinished = jobs.filter((job) => job.chunksDone > 0 && job.chunksDone < job.chunks);
      await Promise.all(unfinished.map((job) => job.suspend()));
      await Promise.all(finishing);
      throw new InterruptedError(unfinished.map((job) => job.task.entry.name));
    }
    await Promise.all(finishing);
  } catch (error) {
    // An interruption keeps what it suspended. A failure of the run itself (a full disk while saving
    // receipts, say) leaves no temporary file unaccounted for: every file in progress is removed.
    if (error instanceof InterruptedError) throw error;
    await Promise.allSettled(finishing);
    await Promise.allSettled(jobs.filter((job) => !job.finished).map((job) => job.abandon()));
    throw error;
  } finally {
    await hashes.close();
  }
}

async function step(job: FileJob, chunk: number, keys: KeyCache, options: EngineOptions, finishing: Promise<void>[]): Promise<void> {
  if (options.signal?.aborted) return;
  if (chunk === 0) options.onStarted(job.task, job.resumeFrom);
  const needsKey = job.task.kind === "decrypt" && !job.isRehash(chunk) && job.task.outputBytes > chunk * KEY_CHUNK_BYTES;
  const source = needsKey ? await options.keys.sourceFor(job.task) : undefined;
  const key = source ? await keys.acquire(source, chunk) : undefined;
  try {
    if (source && chunk + 1 < job.chunks) keys.warm(source, chunk + 1);
    await job.processChunk(chunk, key?.offset);
  } finally {
    key?.release();
  }
  if (chunk === job.chunks - 1) {
    const finished = finish(job, options);
    // Awaited with the others at the end; handled now so that an early failure (a full disk while
    // saving a receipt) is the run's error, not an unhandled rejection that kills the process.
    finished.catch(() => undefined);
    finishing.push(finished);
  }
  else if ((chunk + 1) % CHECKPOINT_CHUNKS === 0 && !job.isRehash(chunk)) await job.checkpoint();
}

async function finish(job: FileJob, options: EngineOptions): Promise<void> {
  job.finished = true;
  let outcome: FileOutcome;
  try {
    const digests = await job.settle();
    await options.keys.release(job.task);
    const checks = await verifyDigests(job.task, digests, options.loaded, options.keys).catch((error: unknown) => {
      throw job.resumeFrom > 0 && error instanceof VerificationError ? resumedFailure(error, job, options.folder) : error;
    });
    const source = { name: job.task.entry.name, bytes: job.task.outputBytes, ...digests, checks };
    outcome = { ok: true, outputs: await publishOutputs(job, source, options.folder) };
  } catch (error) {
    const resumable = keepsResumePoint(error);
    if (resumable) await job.keepForResume();
    else {
      await job.output?.discard();
      await job.converted?.discard();
    }
    const failure = fileFailure(job, error);
    outcome = { ok: false, error: explainWriteError(failure, options.folder.dir) };
    if (resumable) return options.onFinished(job.task, outcome);
  }
  await options.folder.forget(job.task.entry.name);
  await options.onFinished(job.task, outcome);
}

/**
 * A file whose input failed on the way (a Hub download that ran out of retries) rather than its bytes:
 * its temporary output and resume record stay, and the next run continues it (see HubTransferError).
 */
function keepsResumePoint(error: unknown): boolean {
  return error instanceof InputError && (error as { resumable?: unknown }).resumable === true;
}

/** A failure of one file, in the words of that file. */
function fileFailure(job: FileJob, error: unknown): unknown {
  const name = job.task.entry.name;
  // Another program swapped or grew the temporary file: what would be published is not what was hashed.
  if (error instanceof PublishError) return new VerificationError(name, `${name} did not verify: ${error.message}`);
  // The converter refused the stream before the .bin was whole (it is no torch checkpoint).
  if (error instanceof TorchFormatError) return new InputError("CONVERT_FAILED", `${name} cannot be converted to safetensors: ${error.problem}; recover it without --to safetensors`);
  return error;
}

/**
 * A resumed file is hashed from what an earlier run left on disk (never recomputed), so bytes changed
 * there since make it fail too: the blame may be wrong, and running again starts the file over
 * (its temporary file and record are removed with this failure).
 */
function resumedFailure(error: VerificationError, job: FileJob, folder: OutputFolder): VerificationError {
  return new VerificationError(error.file, `${error.message} (it continued from ${job.resumeFrom} bytes an earlier run left in ${folder.stateDir}; if those were changed since, run again: it starts over)`);
}
