import { HubError, type HubTarget } from "./errors.js";
import { isRetryableStatus, parseRetryAfter } from "./retry.js";
import type { Exchange } from "./transport.js";

/** A failure worth another attempt: a reset, a timeout, a cut body, a 5xx. */
export class TransientFailure extends Error {
  constructor(
    readonly reason: string,
    readonly retryAfterMs?: number,
  ) {
    super(reason);
  }
}

/**
 * What an unsuccessful answer means: a final HubError for access and existence (401/403/404 from
 * the endpoint), a TransientFailure for the rest that may pass (5xx, 429, and any 4xx from a CDN,
 * whose signed URL may simply have expired: the next attempt resolves a fresh one).
 */
export function failureFor(exchange: Exchange, target: HubTarget, tokenExists: boolean): HubError | TransientFailure {
  const { response, url, fromEndpoint, tokenSent } = exchange;
  const status = response.status;
  const errorCode = readErrorCode(response.headers);
  if (fromEndpoint && (status === 404 || ((status === 401 || status === 403) && errorCode === "RepoNotFound"))) {
    return new HubError("HUB_NOT_FOUND", notFoundMessage(status, errorCode), target, status);
  }
  if (fromEndpoint && (status === 401 || status === 403)) {
    return new HubError("HUB_GATED", gatedMessage(status, errorCode, tokenExists, tokenSent, url), target, status);
  }
  if (isRetryableStatus(status) || (!fromEndpoint && status >= 400 && status < 500)) {
    return new TransientFailure(`HTTP ${status} from ${url.origin}`, parseRetryAfter(response.headers.get("retry-after")));
  }
  return new HubError("HUB_PROTOCOL", `unexpected HTTP ${status}${errorCode ? ` ${errorCode}` : ""} from ${url.origin}`, target, status);
}

/** The Hub names its refusals in X-Error-Code (RepoNotFound, GatedRepo, EntryNotFound...); only a plain word is kept. */
function readErrorCode(headers: Headers): string | undefined {
  const code = headers.get("x-error-code");
  return code !== null && /^[A-Za-z]{1,40}$/.test(code) ? code : undefined;
}

function notFoundMessage(status: number, errorCode: string | undefined): string {
  const seen = `(${status}${errorCode ? ` ${errorCode}` : ""})`;
  if (errorCode === "RepoNotFound") return `repo not found ${seen}; check the repo id, or set HF_TOKEN if the repo is private`;
  if (errorCode === "RevisionNotFound") return `revision not found ${seen}; check the commit, branch or tag`;
  if (errorCode === "EntryNotFound") return `file not found at this revision ${seen}; check the file name`;
  return `not found on the Hub ${seen}; check the repo id, revision and file name`;
}

function gatedMessage(status: number, errorCode: string | undefined, tokenExists: boolean, tokenSent: boolean, url: URL): string {
  const seen = `access denied (${status}${errorCode ? ` ${errorCode}` : ""})`;
  if (tokenSent) return `${seen}: the token was refused; accept the licence on the Hub with the token's account, or check HF_TOKEN`;
  if (tokenExists) return `${seen}: the token is only sent over HTTPS and ${url.origin} is plain HTTP; use an https:// HF_ENDPOINT`;
  return `${seen}: the repo is gated or private; accept the licence on the Hub and set HF_TOKEN (or --token-file)`;
}
