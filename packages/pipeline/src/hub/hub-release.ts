import { type ContentDigest, type HubClient, HubError, type HubFile, type HubFileStream, type HubStreamEvent } from "@model-recover/hf-hub";
import { InputError } from "../errors.js";
import type { RemotePayload, RemoteRelease, RemoteStream } from "../recover/payload-source.js";

/** Where a release lives on the Hub (a recipe's `hub`): the repo, a pinned commit where known, and the folder of the files in it. */
export interface HubLocation {
  repo: string;
  revision?: string;
  /** The release's files lie in this folder of the repo (OpenAssistant's xor repo nests them one level down). */
  folder?: string;
}

export interface HubReleaseOptions {
  /** Stops the listing. Transfers are not given it: the engine stops them between chunks, keeping resume points. */
  signal?: AbortSignal;
  /** Retries of a transfer, by the name of the payload in the release. */
  onRetry?: (name: string, event: Extract<HubStreamEvent, { type: "retry" }>) => void;
}

/**
 * A release on the Hub as the recovery and `download` read it: the listing (sizes, LFS sha256s, git
 * oids through @huggingface/hub) taken once, and each payload streamed with resume and verification
 * by @model-recover/hf-hub. Without a pinned revision "main" is listed; every file is still pinned
 * by the sha256 (or git oid) it is listed with, so a repo that moves mid-run fails, never splices.
 */
export async function openHubRelease(hub: HubClient, location: HubLocation, options: HubReleaseOptions = {}): Promise<HubRelease> {
  const revision = location.revision ?? "main";
  const prefix = location.folder ? `${location.folder.replace(/\/+$/, "")}/` : "";
  const listed = await hub.listFiles(location.repo, revision, options.signal ? { signal: options.signal } : {});
  const files = new Map<string, HubPayload>();
  for (const file of listed) {
    const name = file.path.slice(prefix.length);
    if (!file.path.startsWith(prefix) || name.includes("/")) continue;
    files.set(name, new HubPayload(hub, location.repo, revision, name, file, options));
  }
  return { where: `${location.repo}@${revision}${prefix ? ` ${prefix}` : ""}`, files };
}

/** A release on the Hub: its files by their names in the release. */
export interface HubRelease extends RemoteRelease {
  files: Map<string, HubPayload>;
}

/** One file of a release on the Hub. */
export class HubPayload implements RemotePayload {
  readonly where: string;
  readonly size: number;
  readonly identity: string;
  readonly checkedBy: string;

  constructor(
    private readonly hub: HubClient,
    readonly repo: string,
    readonly revision: string,
    /** The file's name in the release (its path without the release's folder). */
    readonly name: string,
    readonly file: HubFile,
    private readonly options: HubReleaseOptions,
  ) {
    this.where = `${repo}@${revision} ${file.path}`;
    this.size = file.size;
    this.identity = `${repo}/${file.path}:${file.lfs ? `sha256:${file.lfs.sha256}` : `git:${file.gitOid}`}:${file.size}`;
    this.checkedBy = file.lfs ? "the Hub's LFS sha256" : "the Hub's git blob id";
  }

  /**
   * The bytes from `from` on. From byte 0 the whole file is hashed on the way and the stream fails
   * before its last byte if it does not match the listing; a resumed stream is checked for size and
   * content identity (its sha256 as the Hub reports it), unless `verify` brings the hash of the bytes before `from`.
   */
  open(from: number, verify?: ContentDigest): RemoteStream {
    const stream = this.hub.openFile(this.repo, this.revision, this.file.path, {
      from,
      expected: this.file,
      ...(verify ? { verify } : from === 0 ? { verify: true } : {}),
      onEvent: (event) => {
        if (event.type === "retry") this.options.onRetry?.(this.name, event);
      },
    });
    return new TransferStream(stream);
  }
}

/** A HubFileStream whose failures are a file's transfer failing (exit 4, HUB_TRANSFER), reported per file. */
class TransferStream implements RemoteStream {
  constructor(private readonly stream: HubFileStream) {}

  async read(target: Uint8Array): Promise<number> {
    try {
      return await this.stream.read(target);
    } catch (error) {
      throw transferError(error);
    }
  }

  close(): Promise<void> {
    return this.stream.close();
  }
}

/** Failures of the bytes in transit, as opposed to access (gated, not found) or names. */
const TRANSFER_CODES = new Set(["HUB_TRANSFER", "HUB_DIGEST", "HUB_SIZE", "HUB_PROTOCOL", "HUB_CHANGED"]);

/** A download from the Hub that failed: a file's failure, reported with the others (exit 4); `hub` says how. */
export class HubTransferError extends InputError {
  constructor(readonly hub: HubError) {
    const blame = TRANSFER_CODES.has(hub.code) ? " (the transfer is at fault, not the release; nothing unverified was kept under the file's name)" : "";
    const again = hub.code === "HUB_TRANSFER" ? "; run the same command again: the file continues from its last durable point" : "";
    // The Hub's message names repo, revision and file and says what to do.
    super("HUB_TRANSFER", `${hub.message}${blame}${again}`);
  }

  /**
   * The connection failed, not the bytes: what reached the disk before the last durable point is as
   * good as before, so the file keeps its resume point (the output's sha256 still checks every byte).
   */
  get resumable(): boolean {
    return this.hub.code === "HUB_TRANSFER";
  }
}

export function transferError(error: unknown): unknown {
  return error instanceof HubError ? new HubTransferError(error) : error;
}
