import type { ContentDigest } from "./content-digest.js";
import type { ExpectedFile } from "./expected-file.js";
import type { RetryPolicy } from "./retry.js";
import type { Transport } from "./transport.js";

export interface OpenFileOptions {
  /** Start at this byte (a resume); the bytes before it are never requested. */
  from?: number;
  /** What the caller knows of the file (a listing entry, a recipe, an earlier run's ETag); a disagreement is an error. */
  expected?: ExpectedFile;
  /**
   * Hash the bytes on the way through and fail the stream (HUB_DIGEST) before it hands out the last
   * chunk if they do not match what the Hub reports. `true` from byte 0; from an offset, pass a
   * ContentDigest already fed with the bytes before it.
   */
  verify?: boolean | ContentDigest;
  signal?: AbortSignal;
  onEvent?: (event: HubStreamEvent) => void;
}

export type HubStreamEvent =
  /** An attempt failed and another follows after `delayMs`; `reason` is e.g. "ECONNRESET" or "HTTP 503 from ...". */
  | { type: "retry"; attempt: number; retries: number; position: number; reason: string; delayMs: number }
  /** The server answered a Range request with the whole file: the `position` bytes before the resume point are read and dropped. */
  | { type: "range-ignored"; position: number };

export interface StreamSettings {
  transport: Transport;
  policy: RetryPolicy;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
}
