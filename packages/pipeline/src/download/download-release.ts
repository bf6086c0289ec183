import { lstat, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { runPool } from "@model-recover/hf-hub";
import { describeKind, makeFolder } from "@model-recover/safe-fs";
import { InputError, InterruptedError } from "../errors.js";
import { DOWNLOAD_STATE_DIR, STATE_DIR } from "../state-names.js";
import { releaseFolderLock, takeFolderLock } from "../recover/folder-lock.js";
import type { HubPayload, HubRelease } from "../hub/hub-release.js";
import type { LoadedRecipe } from "../recipe/types.js";
import { type FileTask, planRecovery } from "../recover/plan.js";
import { checkRoom } from "../recover/preflight.js";
import { alreadyDownloaded, downloadFile } from "./download-file.js";

/** Files downloaded at once: a few connections fill one link; more only split it. */
const CONNECTIONS = 4;
export { DOWNLOAD_STATE_DIR };

export type DownloadEvent =
  | { type: "download-planned"; files: { name: string; bytes: number; present: boolean }[]; totalBytes: number }
  | { type: "download-started"; name: string; bytes: number; resumedFrom: number }
  | { type: "download-progress"; name: string; bytesDone: number; bytes: number }
  | { type: "download-verified"; name: string; bytes: number; checkedBy: string };

export interface DownloadOptions {
  loaded: LoadedRecipe;
  release: HubRelease;
  toDir: string;
  onEvent?: (event: DownloadEvent) => void;
  signal?: AbortSignal;
}

export interface DownloadSummary {
  dir: string;
  files: { name: string; bytes: number; status: "downloaded" | "present" }[];
  seconds: number;
}

/**
 * The release's files as the recipe needs them (the plan's payloads; other files of the repo are
 * left on the Hub) into `toDir`, each verified against the Hub's size and sha256 and, for `.enc`
 * files, its header, before it gets its name; a killed run continues each file where it stopped.
 * `recover --enc <toDir>` then reads the folder as it reads a clone.
 */
export async function downloadRelease(options: DownloadOptions): Promise<DownloadSummary> {
  const plan = await planRecovery(options.loaded, options.release.where, options.release);
  const lockDir = await lockDownloadFolder(options.toDir);
  try {
    return await download(options, plan.tasks.map((task) => ({ task, payload: task.remote as HubPayload })));
  } finally {
    await releaseFolderLock(lockDir);
    // The state folder was made for the lock alone unless recover uses this folder too (then it holds more).
    await rmdir(lockDir).catch(() => undefined);
  }
}

async function download(options: DownloadOptions, payloads: { task: FileTask; payload: HubPayload }[]): Promise<DownloadSummary> {
  const started = performance.now();
  const { toDir, onEvent = () => {} } = options;
  await refuseNonFiles(toDir, payloads.map(({ payload }) => payload.name));
  const stateDir = await ownFolder(toDir, DOWNLOAD_STATE_DIR);
  const present = new Set<string>();
  for (const { payload } of payloads) if (await alreadyDownloaded(payload, join(toDir, payload.name))) present.add(payload.name);
  const todo = payloads.filter(({ payload }) => !present.has(payload.name));
  const totalBytes = todo.reduce((sum, { payload }) => sum + payload.size, 0);
  onEvent({ type: "download-planned", files: payloads.map(({ payload }) => ({ name: payload.name, bytes: payload.size, present: present.has(payload.name) })), totalBytes });
  await checkRoom(toDir, totalBytes);
  const finished = new Set<string>();
  const pool = runPool(todo, CONNECTIONS, async ({ task, payload }) => {
    await downloadFile({
      payload,
      finalPath: join(toDir, payload.name),
      stateDir,
      ...(task.headerBytes > 0 && task.sha256 ? { header: { bytes: task.headerBytes, sha256: task.sha256 } } : {}),
      onStarted: (resumedFrom) => onEvent({ type: "download-started", name: payload.name, bytes: payload.size, resumedFrom }),
      onBytes: (bytesDone) => onEvent({ type: "download-progress", name: payload.name, bytesDone, bytes: payload.size }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    finished.add(payload.name);
    onEvent({ type: "download-verified", name: payload.name, bytes: payload.size, checkedBy: payload.checkedBy });
  });
  // Ctrl-C: whatever a transfer threw on the way out, the run was interrupted, and each unfinished file keeps its bytes.
  await pool.catch((error: unknown) => {
    if (options.signal?.aborted) throw new InterruptedError(todo.map(({ payload }) => payload.name).filter((name) => !finished.has(name)));
    throw error;
  });
  const files = payloads.map(({ payload }) => ({ name: payload.name, bytes: payload.size, status: present.has(payload.name) ? ("present" as const) : ("downloaded" as const) }));
  return { dir: toDir, files, seconds: (performance.now() - started) / 1000 };
}

/**
 * One run at a time writes a folder: the download takes recover's lock (`<dir>/.model-recover/lock`),
 * so that two downloads, or a download and a recovery into one folder, are refused as two recoveries are.
 */
async function lockDownloadFolder(toDir: string): Promise<string> {
  const lockDir = await ownFolder(toDir, STATE_DIR);
  await takeFolderLock(toDir, lockDir);
  return lockDir;
}

/**
 * Each downloaded file is renamed onto its name: a folder there makes the rename fail after the whole
 * transfer, and a FIFO or a socket would be replaced; such a name is refused before any byte is fetched.
 */
async function refuseNonFiles(toDir: string, names: string[]): Promise<void> {
  for (const name of names) {
    const path = join(toDir, name);
    const info = await lstat(path).catch(() => undefined);
    if (info && !info.isFile() && !info.isSymbolicLink()) {
      throw new InputError("OUT_NOT_WRITABLE", `${path}: is ${describeKind(info)}, where the download of ${name} goes; remove it, or download into another folder`);
    }
  }
}

/** The download's own folder `name` in `toDir`, a real folder: a symlink planted there would lead writes out. */
async function ownFolder(toDir: string, name: string): Promise<string> {
  const folder = join(toDir, name);
  try {
    await makeFolder(folder);
  } catch (error) {
    throw new InputError("OUT_NOT_WRITABLE", `${toDir}: cannot create the download folder (${(error as NodeJS.ErrnoException).code ?? "error"}); pass another --to`);
  }
  if (!(await lstat(folder)).isDirectory() || !(await stat(toDir)).isDirectory()) {
    throw new InputError("OUT_NOT_WRITABLE", `${folder}: is not a folder (a symlink?); remove it and run again`);
  }
  return folder;
}
