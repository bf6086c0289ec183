import type { FileHandle } from "node:fs/promises";
import { KeyError } from "./errors.js";
import { KEY_CHUNK_BYTES } from "./format.js";
import { KeyFile, openKeyFile } from "./key-file.js";

/**
 * Where the keystream of a file comes from, one data chunk (KEY_CHUNK_BYTES) at a time, already laid
 * out so that the XOR is a straight pass over the chunk. One implementation per published format.
 */
export interface KeySource {
  /** Equal for sources that read the same key material, so their windows can be shared. */
  readonly id: string;
  /** Equal for payload chunks whose keystream is identical, so a window is read once. */
  windowFor(payloadChunk: number): number;
  /** Fill `into` (KEY_CHUNK_BYTES long) with the keystream of payload chunk `payloadChunk`. */
  fill(payloadChunk: number, into: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Spec §1 (BELLE, point-alpaca): the base file read in 10 MiB chunks, rewound when it runs out. */
export class RewindingKey implements KeySource {
  readonly id: string;

  constructor(readonly key: KeyFile) {
    this.id = `rewinding:${key.path}`;
  }

  windowFor(payloadChunk: number): number {
    return this.key.spanForPayloadChunk(payloadChunk).index;
  }

  async fill(payloadChunk: number, into: Uint8Array): Promise<void> {
    await this.key.readExpanded(payloadChunk, into);
  }

  close(): Promise<void> {
    return this.key.close();
  }
}

/**
 * Spec §2 (OpenAssistant xor_codec): the same-named file of the base folder from offset 0, read as
 * zeros past its end (so payload bytes there pass through) and never wrapped.
 */
export class ZeroPaddedKey implements KeySource {
  readonly id: string;

  private constructor(
    path: string,
    private readonly handle: FileHandle,
  ) {
    this.id = `zero-padded:${path}`;
  }

  static async open(path: string): Promise<ZeroPaddedKey> {
    const { handle } = await openKeyFile(path, "base file");
    return new ZeroPaddedKey(path, handle);
  }

  windowFor(payloadChunk: number): number {
    return payloadChunk;
  }

  async fill(payloadChunk: number, into: Uint8Array): Promise<void> {
    let filled = 0;
    while (filled < KEY_CHUNK_BYTES) {
      const { bytesRead } = await this.handle.read(into, filled, KEY_CHUNK_BYTES - filled, payloadChunk * KEY_CHUNK_BYTES + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    into.fill(0, filled, KEY_CHUNK_BYTES);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Spec §3 (OpenBuddy): the first `prefixBytes` of the base, repeated over the whole file. */
export class RepeatingPrefixKey implements KeySource {
  readonly id: string;

  private constructor(
    readonly path: string,
    readonly prefix: Uint8Array,
  ) {
    this.id = `prefix:${prefix.length}:${path}`;
  }

  static async open(path: string, prefixBytes: number): Promise<RepeatingPrefixKey> {
    const key = await KeyFile.open(path);
    try {
      if (key.size < prefixBytes) throw new KeyError("KEY_CHANGED", path, `${path}: ${key.size} bytes, shorter than the ${prefixBytes}-byte key this format takes from it`);
      const prefix = new Uint8Array(prefixBytes);
      await key.readSpan({ index: 0, offset: 0, length: prefixBytes }, prefix);
      return new RepeatingPrefixKey(path, prefix);
    } finally {
      await key.close();
    }
  }

  windowFor(payloadChunk: number): number {
    return (payloadChunk * KEY_CHUNK_BYTES) % this.prefix.length;
  }

  async fill(payloadChunk: number, into: Uint8Array): Promise<void> {
    let phase = this.windowFor(payloadChunk);
    for (let filled = 0; filled < KEY_CHUNK_BYTES; ) {
      const run = Math.min(KEY_CHUNK_BYTES - filled, this.prefix.length - phase);
      into.set(this.prefix.subarray(phase, phase + run), filled);
      filled += run;
      phase = 0;
    }
  }

  async close(): Promise<void> {}
}
