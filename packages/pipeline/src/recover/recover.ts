import { join } from "node:path";
import { checkHfFolder, describeProblem } from "@model-recover/hf-layout";
import { KeyError } from "@model-recover/xor-core";
import { explainWriteError, InputError, InterruptedError, UsageError, VerificationError } from "../errors.js";
import type { LoadedRecipe } from "../recipe/types.js";
import type { FileStatus, RecoverEvent, RecoverSummary } from "./events.js";
import { planRecovery, type FileTask, type Plan } from "./plan.js";
import { resolveBasePath } from "./find-base.js";
import { gunzipPayloads } from "./gunzip-payloads.js";
import { KeyProvider } from "./keys.js";
import { checkRoom, runPreflight } from "./preflight.js";
import { type KnownOutput, settleExistingOutputs } from "./existing-outputs.js";
import { OutputStore } from "../cache/output-store.js";
import { inputsIdentity, OutputFolder } from "./output-folder.js";
import { ReceiptBook } from "./receipts.js";
import { inputPlaces, refuseOverlaps } from "./overlaps.js";
import { recoverTogether, type FileOutcome } from "./engine.js";
import { outputNames, planSafetensors } from "./to-safetensors.js";
import type { VerifyMode } from "./verify.js";
import type { RemoteRelease } from "./payload-source.js";

export interface RecoverOptions {
  loaded: LoadedRecipe;
  /** The release folder; with `remote`, only how messages name the release. */
  encDir: string;
  /** The release streamed from the Hub (hub/hub-release.ts) instead of read from `encDir`. */
  remote?: RemoteRelease;
  basePath: string;
  outDir: string;
  onEvent?: (event: RecoverEvent) => void;
  /** Check the result as a Hugging Face folder (config.json, index.json, shards); on by default. */
  checkFolder?: boolean;
  /** "full" (default): header sha256 and card md5; "sha256": the header alone, no md5 pass. */
  verify?: VerifyMode;
  /** Aborting stops the run at the next chunk, keeping a resume point for every unfinished file. */
  signal?: AbortSignal;
  /** pack's round trip only: the output is a hidden scratch folder inside the release it reads. */
  scratchInsideRelease?: boolean;
  /**
   * A content store of verified outputs: every file verified here is added to it, and files an
   * earlier run is known to have produced (`known`, a cache hit's receipt) are put back from it.
   */
  store?: { dir: string; known?: Map<string, KnownOutput> };
  /**
   * Awaited once everything is checked and before any XOR work: pnpm recover holds a run here until
   * turbo has said whether the recovery is cached (and aborts it if it is).
   */
  beforeWork?: () => Promise<void>;
  /** "safetensors": each `pytorch_model*.bin` is converted in the same pass (see to-safetensors.ts). */
  to?: "bin" | "safetensors";
  /** With `to: "safetensors"`, publish the recovered `.bin` files and their index too. */
  keepBin?: boolean;
}

/**
 * recipe → plan → preflight (files, key, room) → recover each file → check the folder.
 * Input problems throw before any long work; a file that fails verification is reported in the
 * summary and the others still run, so one bad download costs one re-download.
 */
export async function recover(options: RecoverOptions): Promise<RecoverSummary> {
  const { loaded, encDir, basePath, outDir, onEvent = () => {}, checkFolder = true, verify = "full", signal, scratchInsideRelease = false } = options;
  const started = performance.now();
  const { recipe } = loaded;
  if (options.remote && loaded.pipeline.payload === "gzip") {
    throw new UsageError(`${recipe.name}: its payloads are gzipped (spec §2), and a gzip stream cannot be resumed at an offset; run model-recover download first, then recover --enc`);
  }
  const plan = await planRecovery(loaded, encDir, options.remote);
  const base = await resolveBasePath(loaded, basePath);
  // pack's round trip recovers into a scratch folder inside the release it reads, on purpose.
  await refuseOverlaps(outDir, scratchInsideRelease ? [{ path: base, what: "base (--base)" }] : await inputPlaces(loaded, plan.tasks, options.remote ? undefined : encDir, base));
  // The base is checked before the output folder is touched: a wrong base creates nothing.
  const keys = await KeyProvider.open(loaded, base);
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const { tasks, probe } = await runPreflight(loaded, plan.tasks, keys);
    plan.tasks = options.to === "safetensors" ? planSafetensors(tasks, options.keepBin ?? false, recipe.name) : tasks;
    if (probe) onEvent({ type: "key-checked", base: keys.basePath, probe });
    const store = options.store ? await OutputStore.open(options.store.dir) : undefined;
    const mode = `${loaded.pipeline.name}:${verify}:${options.to ?? "bin"}:${options.keepBin ? "keep" : ""}`;
    const { folder, resume, receipts, reused } = await prepareOutput({ loaded, plan, keys, outDir, verify, onEvent, cleanups, store, known: options.store?.known, mode });
    const todo = plan.tasks.filter((t) => !reused.has(t.entry.name));
    onEvent({
      type: "planned",
      files: plan.tasks.map((t) => ({ name: t.entry.name, bytes: t.outputBytes, reused: reused.has(t.entry.name) })),
      totalBytes: plan.totalOutputBytes,
      extras: plan.extras,
      absentClearFiles: plan.absentClearFiles,
    });
    // A resumed file already has its durable part on disk; a converted shard is about its .bin's size.
    const neededBytes = todo.reduce((sum, t) => sum + (t.outputBytes - (resume.get(t)?.from ?? 0)) * outputNames(t).length, 0);
    const { freeBytes } = await checkRoom(outDir, neededBytes);
    onEvent({ type: "room-checked", neededBytes, freeBytes });

    await options.beforeWork?.();
    if (signal?.aborted) throw new InterruptedError([]);
    const results = new Map(reused);
    await recoverTogether(todo, {
      loaded,
      keys,
      verify,
      folder,
      resume,
      ...(signal ? { signal } : {}),
      onStarted: (task, resumedFrom) => onEvent({ type: "file-started", name: task.entry.name, bytes: task.outputBytes, resumedFrom }),
      onBytes: (task, bytesDone) => onEvent({ type: "file-progress", name: task.entry.name, bytesDone, bytes: task.outputBytes }),
      onFinished: recordOutcome({ results, receipts, onEvent, store, outDir }),
    });
    await receipts.flush();
    const files = plan.tasks.flatMap((t) => results.get(t.entry.name)!);
    // The layout check can only warn: every file already verified against its header or card.
    const folderProblems = checkFolder ? await folderCheck(outDir, files) : [];
    const ok = files.every((f) => f.status === "verified");
    return { recipe: recipe.name, outDir, files, extras: plan.extras, absentClearFiles: plan.absentClearFiles, folderProblems, verify, ok, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    if (error instanceof KeyError) throw new InputError("BASE_CHANGED", `${error.message}; the base must not change while a recovery runs: run again once it is complete`);
    throw explainWriteError(error, outDir);
  } finally {
    await keys.close();
    // Last made, first undone: the lock is released after everything else.
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

interface PrepareContext {
  loaded: LoadedRecipe;
  plan: Plan;
  keys: KeyProvider;
  outDir: string;
  verify: VerifyMode;
  onEvent: (event: RecoverEvent) => void;
  cleanups: (() => Promise<void>)[];
  store: OutputStore | undefined;
  known: Map<string, KnownOutput> | undefined;
  /** How the outputs are made (pipeline, verify mode, --to): a resume never mixes two ways. */
  mode: string;
}

/**
 * Claim the output folder, keep what an earlier run can still use (resumable temporary outputs,
 * verified files, the store's copies of known outputs) and clear the rest. Files the plan needs
 * unpacked first (gzip payloads) are.
 */
async function prepareOutput({ loaded, plan, keys, outDir, verify, onEvent, cleanups, store, known, mode }: PrepareContext) {
  const folder = await OutputFolder.claim(outDir);
  cleanups.push(() => folder.release());
  const resume = await resumePoints(plan.tasks, folder, keys.basePath, mode);
  await folder.removeStalePartials(new Set([...resume.keys()].filter((t) => resume.get(t)!.from > 0).flatMap((t) => [t.entry.name, ...(t.convert ? [t.convert.name] : [])])));
  if (loaded.pipeline.payload === "gzip") {
    const gunzipped = await gunzipPayloads(plan.tasks, folder);
    plan.tasks = gunzipped.tasks;
    cleanups.push(gunzipped.cleanup);
  }
  const receipts = await ReceiptBook.open(outDir);
  // A run that fails still keeps the receipts of what it verified, saved before the lock goes.
  cleanups.push(() => receipts.flush().catch(() => undefined));
  const reused = await settleExistingOutputs(plan.tasks, { folder, receipts, mode: verify, onEvent, ...(store ? { store } : {}), ...(known ? { known } : {}) });
  // A run killed between publishing a file and forgetting its progress leaves both behind.
  for (const name of reused.keys()) await folder.dropPartial(name);
  return { folder, resume, receipts, reused };
}

interface OutcomeContext {
  /** Each task's outputs by the name of the file it recovers. */
  results: Map<string, FileStatus[]>;
  receipts: ReceiptBook;
  onEvent: (event: RecoverEvent) => void;
  store: OutputStore | undefined;
  outDir: string;
}

/**
 * What happens when a file is done: if it verified, the store keeps it (which may make it read-only)
 * and then a receipt records its identity; if not, a reported failure.
 */
function recordOutcome({ results, receipts, onEvent, store, outDir }: OutcomeContext) {
  return async (task: FileTask, outcome: FileOutcome): Promise<void> => {
    const name = task.entry.name;
    if (outcome.ok) {
      const statuses: FileStatus[] = [];
      for (const { file, from } of outcome.outputs) {
        // A converted file is vouched for by the file it was made from; the store keys bytes by their own sha256.
        if (store && file.sha256 && !from) await store.add(join(outDir, file.name), file.sha256, file.bytes);
        await receipts.record(file.name, file, from);
        onEvent({ type: "file-verified", file });
        statuses.push({ status: "verified", file, reused: false });
      }
      results.set(name, statuses);
      return;
    }
    const { error } = outcome;
    // Anything else is not a file's problem but the run's, and ends it.
    if (!(error instanceof VerificationError) && !(error instanceof InputError)) throw error;
    onEvent({ type: "file-failed", name, message: error.message });
    results.set(name, [{ status: "failed", name, bytes: task.outputBytes, message: error.message, code: error.code }]);
  };
}

/** Where each file may continue from: the durable part of a temporary output an earlier run left. */
async function resumePoints(tasks: FileTask[], folder: OutputFolder, basePath: string, mode: string): Promise<Map<FileTask, { from: number; inputs: string }>> {
  const points = new Map<FileTask, { from: number; inputs: string }>();
  for (const task of tasks) {
    const inputs = await inputsIdentity(task, basePath, mode);
    points.set(task, { from: task.kind === "decrypt" ? await folder.resumePoint(task, inputs) : 0, inputs });
  }
  return points;
}

/** Only a complete folder is checked as a Hugging Face model; a failed file is already reported. */
async function folderCheck(outDir: string, files: FileStatus[]): Promise<string[]> {
  if (files.some((f) => f.status === "failed")) return [];
  const report = await checkHfFolder(outDir);
  return report.problems.map(describeProblem);
}
