import { HubError, type HubTarget } from "./errors.js";
import type { Exchange } from "./transport.js";

/** What the Hub says about a file when it serves it. */
export interface HubFileHead {
  /** Bytes of the file: X-Linked-Size, else the total of Content-Range, else Content-Length of a 200. */
  size: number;
  /** X-Linked-Etag, else ETag, of the endpoint's answer, without quotes or W/: the LFS sha256 or the git oid. */
  etag?: string;
  /** The LFS oid (sha256 of the content), when the endpoint reports one in X-Linked-Etag. */
  sha256?: string;
  /** X-Repo-Commit: the commit the revision resolved to. */
  commit?: string;
}

/** How one response of a file download is to be read. */
export type FileAnswer =
  /** The body carries bytes [start, end) of the file. */
  | { kind: "body"; head: HubFileHead; start: number; end: number }
  /** 416 for a range starting at the end: nothing left to send. */
  | { kind: "complete"; head: HubFileHead };

/**
 * Reads the status and headers of a successful (2xx or 416) file response, for a request that asked
 * for the bytes from `position` on (with `Range: bytes=position-` when position > 0).
 */
export function readFileAnswer(exchange: Exchange, position: number, target: HubTarget): FileAnswer {
  const { response, hubHeaders } = exchange;
  const fail = (code: "HUB_PROTOCOL" | "HUB_SIZE", what: string) => new HubError(code, `${what} (from ${exchange.url.origin})`, target, response.status);
  const linkedSize = byteCount(hubHeaders.get("x-linked-size"), "X-Linked-Size", fail);
  const etag = normalizeEtag(hubHeaders.get("x-linked-etag") ?? hubHeaders.get("etag"));
  const head = (size: number): HubFileHead => {
    if (linkedSize !== undefined && linkedSize !== size) throw fail("HUB_SIZE", `X-Linked-Size says ${linkedSize} bytes but the download says ${size}`);
    const sha256 = hubHeaders.has("x-linked-etag") && etag && /^[0-9a-f]{64}$/.test(etag) ? etag : undefined;
    const commit = hubHeaders.get("x-repo-commit") ?? undefined;
    return { size, etag, sha256, commit: commit && /^[0-9a-f]{40}$/.test(commit) ? commit : undefined };
  };
  const encoded = (response.headers.get("content-encoding") ?? "identity").toLowerCase() !== "identity";
  const contentLength = encoded ? undefined : byteCount(response.headers.get("content-length"), "Content-Length", fail);

  if (response.status === 416) {
    const total = /^bytes \*\/(\d{1,15})$/.exec(response.headers.get("content-range") ?? "")?.[1];
    if (total === undefined) throw fail("HUB_SIZE", `the server refused bytes from ${position} on (416) without giving the file's size`);
    if (Number(total) > position) throw fail("HUB_PROTOCOL", `416 for bytes from ${position} on, yet the file is ${total} bytes`);
    // Nothing left to send; an offset past the end is the caller's error, which acceptHead names.
    return { kind: "complete", head: head(Number(total)) };
  }
  if (response.status === 206) {
    if (encoded) throw fail("HUB_PROTOCOL", "a compressed partial response (Content-Encoding on a 206) cannot be resumed");
    const range = /^bytes (\d{1,15})-(\d{1,15})\/(\d{1,15}|\*)$/.exec(response.headers.get("content-range") ?? "");
    if (!range) throw fail("HUB_PROTOCOL", `206 without a usable Content-Range (${JSON.stringify(response.headers.get("content-range"))})`);
    const [start, last] = [Number(range[1]), Number(range[2])];
    const size = range[3] === "*" ? linkedSize : Number(range[3]);
    if (size === undefined) throw fail("HUB_PROTOCOL", "206 with neither a total in Content-Range nor X-Linked-Size");
    if (start > position || last < start || last >= size) throw fail("HUB_PROTOCOL", `Content-Range bytes ${start}-${last}/${range[3]} does not serve bytes from ${position} on`);
    if (contentLength !== undefined && contentLength !== last - start + 1) throw fail("HUB_PROTOCOL", `Content-Length ${contentLength} disagrees with Content-Range bytes ${start}-${last}`);
    return { kind: "body", head: head(size), start, end: last + 1 };
  }
  if (response.status === 200) {
    const size = linkedSize ?? contentLength;
    if (size === undefined) throw fail("HUB_PROTOCOL", "the answer gives no size (no X-Linked-Size, no Content-Length)");
    if (contentLength !== undefined && contentLength > size) throw fail("HUB_SIZE", `Content-Length ${contentLength} is more than the file's ${size} bytes`);
    return { kind: "body", head: head(size), start: 0, end: contentLength ?? size };
  }
  throw fail("HUB_PROTOCOL", `unexpected HTTP ${response.status} for a file download`);
}

function byteCount(value: string | null, header: string, fail: (code: "HUB_PROTOCOL", what: string) => HubError): number | undefined {
  if (value === null) return undefined;
  // 15 digits keep every count a safe integer (below 2^53): up to 999 TB.
  if (!/^\d{1,15}$/.test(value.trim())) throw fail("HUB_PROTOCOL", `${header} ${JSON.stringify(value.slice(0, 40))} is not a byte count`);
  return Number(value.trim());
}

/** `W/"abc"` and `"abc"` are the same tag here: huggingface_hub's `_normalize_etag`. */
export function normalizeEtag(value: string | null): string | undefined {
  if (value === null) return undefined;
  const tag = value.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
  return /^[\x21-\x7e]{1,200}$/.test(tag) ? tag : undefined;
}
