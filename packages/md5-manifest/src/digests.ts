import { createHash, type Hash } from "node:crypto";
import { openRegularFile } from "@model-recover/safe-fs";

export type Algorithm = "md5" | "sha256";

/** Lowercase hex digests; only the algorithms that were asked for are set. */
export interface Digests {
  md5?: string;
  sha256?: string;
}

export interface HashFileOptions {
  /** Size of the one read buffer; the default keeps memory flat at 8 MiB whatever the file size. */
  chunkBytes?: number;
  /** Called after every chunk with the bytes hashed so far. */
  onProgress?: (bytesDone: number) => void;
  /** Checked before every read, so an abort stops within one chunk. */
  signal?: AbortSignal;
}

export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * Feeds every chunk to each requested hash, so a multi-gigabyte shard is read once for both the
 * md5 a model card publishes and the sha256 the Hub's LFS pointer records.
 */
export class MultiHasher {
  private readonly hashes: ReadonlyMap<Algorithm, Hash>;

  constructor(algorithms: readonly Algorithm[]) {
    this.hashes = new Map(
      [...new Set(algorithms)].map((algorithm) => [algorithm, createHash(algorithm)]),
    );
  }

  update(chunk: Uint8Array): void {
    for (const hash of this.hashes.values()) hash.update(chunk);
  }

  digest(): Digests {
    const digests: Digests = {};
    for (const [algorithm, hash] of this.hashes) digests[algorithm] = hash.digest("hex");
    return digests;
  }
}

export async function hashFile(
  path: string,
  algorithms: readonly Algorithm[],
  options: HashFileOptions = {},
): Promise<Digests & { bytes: number }> {
  const { chunkBytes = DEFAULT_CHUNK_BYTES, onProgress, signal } = options;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) {
    throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  }
  signal?.throwIfAborted();

  const hasher = new MultiHasher(algorithms);
  // One buffer for the whole file: Hash.update consumes a chunk synchronously, so the next read
  // may overwrite it.
  const buffer = Buffer.allocUnsafe(chunkBytes);
  const { handle: file } = await openRegularFile(path);
  let bytes = 0;
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await file.read(buffer, 0, chunkBytes, bytes);
      // A short read is not the end (network and FUSE mounts return them); only 0 bytes is.
      if (bytesRead === 0) break;
      hasher.update(buffer.subarray(0, bytesRead));
      bytes += bytesRead;
      onProgress?.(bytes);
    }
  } finally {
    await file.close();
  }
  return { ...hasher.digest(), bytes };
}
