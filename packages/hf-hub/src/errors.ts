export type HubErrorCode =
  /** 401/403: the repo is gated or private and the token (if any) has no access. */
  | "HUB_GATED"
  /** 404, or 401 with X-Error-Code RepoNotFound: no such repo, revision or file. */
  | "HUB_NOT_FOUND"
  /** Timeouts, resets, cut bodies and 5xx went on past the retries. */
  | "HUB_TRANSFER"
  /** The size the Hub reports disagrees with the size expected, or the server sent more bytes than that. */
  | "HUB_SIZE"
  /** The file is not the one expected: its ETag or LFS sha256 changed (between resumes, or since the listing). */
  | "HUB_CHANGED"
  /** The bytes received do not hash to the LFS sha256 or git oid the Hub reports. */
  | "HUB_DIGEST"
  /** The server answered something this client cannot use (bad Content-Range, redirect loop, malformed JSON...). */
  | "HUB_PROTOCOL"
  /** A repo id, revision or file path that is not a plain Hub name. */
  | "HUB_NAME"
  /** An endpoint (HF_ENDPOINT) that is not an http(s) origin. */
  | "HUB_ENDPOINT"
  /** A token file that cannot be read or holds no token. */
  | "HUB_TOKEN";

/** Where on the Hub a failure happened; `path` is absent for repo-level calls (listing). */
export interface HubTarget {
  repo: string;
  revision: string;
  path?: string;
}

/**
 * Every failure of this package. The message is one line that names repo, revision and file and
 * says what to do. It never contains the token: messages are built from our own words, status
 * codes and checked header values, never from text a server sent (a hostile server could echo the
 * Authorization header back).
 */
export class HubError extends Error {
  override readonly name = "HubError";
  constructor(
    readonly code: HubErrorCode,
    message: string,
    readonly target?: HubTarget,
    /** The HTTP status that caused it, where there was one. */
    readonly status?: number,
  ) {
    super(target ? `${describeTarget(target)}: ${message}` : message);
  }
}

/** `owner/name@revision path`, the prefix of every message about a file on the Hub. */
export function describeTarget(target: HubTarget): string {
  return `${target.repo}@${target.revision}${target.path === undefined ? "" : ` ${target.path}`}`;
}

