import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { lstat, open, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { ContentDigest } from "@model-recover/hf-hub";
import { openRegularFile, publishHandle, readSmallFile, writeFresh } from "@model-recover/safe-fs";
import { InputError, InterruptedError } from "../errors.js";
import { type HubPayload, HubTransferError, transferError } from "../hub/hub-release.js";

/** Read and write in pieces this big: big enough that a syscall per piece costs nothing, small enough to stay flat in memory. */
const PIECE_BYTES = 8 * 1024 * 1024;

export interface FileDownload {
  payload: HubPayload;
  /** Where the verified file goes (the release folder), and the folder its partial download and record are kept in. */
  finalPath: string;
  stateDir: string;
  /** For `.enc` payloads (spec §1): the sha256 the header must hold, the one the name says. */
  header?: { bytes: number; sha256: string };
  onStarted: (resumedFrom: number) => void;
  onBytes: (bytesDone: number) => void;
  signal?: AbortSignal;
}

/** What makes a partial download continuable: the same file of the same repo, by its content digest. */
interface PartialRecord {
  name: string;
  identity: string;
}

/**
 * Download one file into `<stateDir>/<id>.part`, continuing what an earlier run left there (its
 * bytes are read back into the hash, so a resumed file is checked from byte 0 like any other), and
 * give it its final name only after the size and sha256 (or git oid) the Hub lists, and the `.enc`
 * header, matched. A digest mismatch removes the partial file; a failed transfer keeps it to resume.
 */
export async function downloadFile(job: FileDownload): Promise<void> {
  const { payload } = job;
  const id = createHash("sha256").update(payload.name).digest("hex").slice(0, 32);
  const partPath = join(job.stateDir, `${id}.part`);
  const recordPath = join(job.stateDir, `${id}.json`);
  const record: PartialRecord = { name: payload.name, identity: payload.identity };
  const { handle, from } = await openPartial(partPath, recordPath, record, payload.size);
  try {
    const digest = ContentDigest.forFile(payload.file);
    await readBackInto(handle, from, digest);
    job.onStarted(from);
    await writeFresh(recordPath, JSON.stringify(record));
    const stream = payload.open(from, digest);
    try {
      await copyStream(stream, handle, from, job);
    } catch (error) {
      // Bytes that hash wrong are of no use to a resume; a cut transfer's are.
      if (error instanceof HubTransferError && error.hub.code === "HUB_DIGEST") await Promise.all([rm(partPath, { force: true }), rm(recordPath, { force: true })]);
      throw transferError(error);
    } finally {
      await stream.close();
    }
    if (job.header) await checkHeader(handle, job.header, payload);
    await handle.sync();
    await publishHandle(handle, partPath, job.finalPath, payload.size);
    await rm(recordPath, { force: true });
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** The partial download to continue (when its record names this very file), else a fresh one. */
async function openPartial(partPath: string, recordPath: string, record: PartialRecord, size: number): Promise<{ handle: FileHandle; from: number }> {
  const saved = await readSmallFile(recordPath, 64 * 1024, "state file").then((text) => JSON.parse(text) as PartialRecord, () => undefined).catch(() => undefined);
  const existing = await lstat(partPath).catch(() => undefined);
  // A partial with another name too (a hard link of a file of yours) is never appended to: it starts over, afresh.
  if (saved?.name === record.name && saved.identity === record.identity && existing?.isFile() && existing.nlink === 1 && existing.size <= size) {
    // O_NOFOLLOW: a symlink planted at the partial's name is refused, never written through.
    const handle = await open(partPath, constants.O_RDWR | constants.O_NOFOLLOW);
    // What was opened is judged again: a file swapped in after the lstat is never appended to either.
    const opened = await handle.stat();
    if (opened.isFile() && opened.nlink === 1 && opened.ino === existing.ino && opened.size <= size) return { handle, from: opened.size };
    await handle.close();
  }
  await rm(partPath, { force: true });
  return { handle: await open(partPath, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644), from: 0 };
}

async function readBackInto(handle: FileHandle, bytes: number, digest: ContentDigest): Promise<void> {
  const buffer = new Uint8Array(Math.min(PIECE_BYTES, Math.max(bytes, 1)));
  for (let done = 0; done < bytes; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, bytes - done), done);
    if (bytesRead === 0) throw new InputError("OUT_NOT_WRITABLE", "a partial download shrank while being read back; another program is using the download folder");
    digest.update(buffer.subarray(0, bytesRead));
    done += bytesRead;
  }
}

async function copyStream(stream: ReturnType<HubPayload["open"]>, handle: FileHandle, from: number, job: FileDownload): Promise<void> {
  const buffer = new Uint8Array(PIECE_BYTES);
  let position = from;
  for (;;) {
    if (job.signal?.aborted) throw new InterruptedError([job.payload.name]);
    // A stalled transfer can hold a read for minutes: Ctrl-C does not wait for it.
    const count = await untilAborted(stream.read(buffer), job.signal);
    for (let written = 0; written < count; ) {
      written += (await handle.write(buffer, written, count - written, position + written)).bytesWritten;
    }
    position += count;
    job.onBytes(position);
    if (count < buffer.length) return;
  }
}

/** `work`, or InterruptedError as soon as `signal` aborts (the work is left to fail on its own when its stream closes). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new InterruptedError([]));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Spec §1: the header is the plaintext's sha256, which the name also carries; a file whose two differ is the release's fault. */
async function checkHeader(handle: FileHandle, header: { bytes: number; sha256: string }, payload: HubPayload): Promise<void> {
  const bytes = new Uint8Array(header.bytes);
  await handle.read(bytes, 0, header.bytes, 0);
  const found = Buffer.from(bytes).toString("hex");
  if (found !== header.sha256) {
    throw new InputError("ENC_CORRUPT", `${payload.where}: matched the Hub's listing, but its header holds sha256 ${found} and its name says ${header.sha256}; the release on the Hub is not what its names say`);
  }
}

/** A file already in the download folder under its final name, checked against the listing before it is trusted. */
export async function alreadyDownloaded(payload: HubPayload, finalPath: string): Promise<boolean> {
  const info = await lstat(finalPath).catch(() => undefined);
  if (!info?.isFile() || info.size !== payload.size) return false;
  const digest = ContentDigest.forFile(payload.file);
  const { handle } = await openRegularFile(finalPath, "download");
  try {
    await readBackInto(handle, payload.size, digest);
  } finally {
    await handle.close();
  }
  try {
    digest.verify({ repo: payload.repo, revision: payload.revision, path: payload.file.path });
    return true;
  } catch {
    return false;
  }
}
