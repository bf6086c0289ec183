import type { FileHandle } from "node:fs/promises";
import { openRegularFile } from "@model-recover/safe-fs";
import { MultiHasher, type Algorithm, type Digests, hashFile } from "@model-recover/md5-manifest";
import { InputError } from "../errors.js";
import type { FileTask } from "./plan.js";

/**
 * A payload that is not a file in the release folder but bytes fetched from elsewhere (the Hugging
 * Face Hub, see hub/hub-release.ts): opened at a byte and read front to back, never seeked.
 */
export interface RemotePayload {
  /** How messages name it: `owner/name@revision path`. */
  readonly where: string;
  readonly size: number;
  /** What a resumed file must find unchanged: the content's own digest and size, not a local inode. */
  readonly identity: string;
  /** What checks the bytes of a download from byte 0 before its last byte is handed out ("the Hub's LFS sha256"). */
  readonly checkedBy: string;
  open(from: number): RemoteStream;
}

/** Bytes from the offset a RemotePayload was opened at; `read` fills `target`, short only at the end. */
export interface RemoteStream {
  read(target: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

/** A release whose files are remote: each payload by its name in the release, and where they are. */
export interface RemoteRelease {
  where: string;
  files: Map<string, RemotePayload>;
}

/** How the engine and the preflight read a payload: at byte offsets of the file as published (header included). */
export interface PayloadReader {
  /** Fill `view` with the bytes at `offset`; a remote payload must be read in order, from where it was first read. */
  read(view: Uint8Array, offset: number): Promise<void>;
  close(): Promise<void>;
}

/** The payload of `task`, from the release folder or, for a remote one, from the network. */
export async function openPayload(task: FileTask): Promise<PayloadReader> {
  if (task.remote) return new RemoteReader(task, task.remote);
  const { handle } = await openRegularFile(task.readFrom ?? task.source, "download");
  return new LocalReader(handle, task);
}

/** Hash the payload as published (header included), e.g. to tell a corrupt download from a wrong base. */
export async function hashPayload(task: FileTask, algorithms: Algorithm[]): Promise<Digests> {
  if (!task.remote) return hashFile(task.source, algorithms);
  const hasher = new MultiHasher(algorithms);
  const stream = task.remote.open(0);
  try {
    const buffer = new Uint8Array(1 << 20);
    for (let n = await stream.read(buffer); n > 0; n = await stream.read(buffer)) hasher.update(buffer.subarray(0, n));
  } finally {
    await stream.close();
  }
  return hasher.digest();
}

class LocalReader implements PayloadReader {
  constructor(
    private readonly handle: FileHandle,
    private readonly task: FileTask,
  ) {}

  async read(view: Uint8Array, offset: number): Promise<void> {
    for (let filled = 0; filled < view.length; ) {
      const { bytesRead } = await this.handle.read(view, filled, view.length - filled, offset + filled);
      if (bytesRead === 0) {
        const end = this.task.headerBytes + this.task.outputBytes;
        throw new InputError("ENC_SIZE", `${this.task.source}: shrank while being read (at ${offset + filled} of ${end} bytes); is a download still running?`);
      }
      filled += bytesRead;
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/**
 * A remote payload read in order. The first read decides where the transfer starts: a read within
 * the header starts at byte 0, so that the transfer checks the whole file and the header is compared
 * with the sha256 the name promises; a later offset (a resumed file) is asked for with a Range request.
 */
class RemoteReader implements PayloadReader {
  private stream?: RemoteStream;
  private next = 0;

  constructor(
    private readonly task: FileTask,
    private readonly payload: RemotePayload,
  ) {}

  async read(view: Uint8Array, offset: number): Promise<void> {
    if (!this.stream) {
      const from = offset <= this.task.headerBytes ? 0 : offset;
      this.stream = this.payload.open(from);
      this.next = from;
      if (from === 0 && this.task.headerBytes > 0) await this.checkHeader();
    }
    if (offset < this.next) throw new Error(`${this.payload.where}: read at ${offset} after ${this.next} bytes were read; a remote payload is read in order`);
    if (offset > this.next) await this.fill(new Uint8Array(offset - this.next));
    await this.fill(view);
  }

  close(): Promise<void> {
    return this.stream?.close() ?? Promise.resolve();
  }

  /** Spec §1: the header is the plaintext sha256, and so is the name; a release whose two disagree is at fault. */
  private async checkHeader(): Promise<void> {
    const header = new Uint8Array(this.task.headerBytes);
    await this.fill(header);
    const found = Buffer.from(header).toString("hex");
    if (this.task.sha256 && found !== this.task.sha256) {
      throw new InputError("ENC_CORRUPT", `${this.payload.where}: header holds sha256 ${found} but the name says ${this.task.sha256}; the release on the Hub is not what its names say`);
    }
  }

  private async fill(view: Uint8Array): Promise<void> {
    const count = await this.stream!.read(view);
    this.next += count;
    if (count < view.length) {
      throw new InputError("ENC_SIZE", `${this.payload.where}: ended at byte ${this.next}, expected ${this.payload.size}; the Hub's listing and its file disagree`);
    }
  }
}
