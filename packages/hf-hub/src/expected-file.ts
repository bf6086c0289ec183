import { ContentDigest } from "./content-digest.js";
import { HubError, type HubTarget } from "./errors.js";
import type { HubFileHead } from "./file-head.js";

/** What a caller knows of a file before downloading it; a HubFile from a listing fits. */
export interface ExpectedFile {
  size?: number;
  lfs?: { sha256: string };
  gitOid?: string;
  /** The ETag an earlier run saw (`HubFileHead.etag`): a resume of a file that has changed since is HUB_CHANGED. */
  etag?: string;
}

/**
 * Checks the head of each response of a download: the first against what the caller expected,
 * the later ones (resumes) against the first. Returns the digest to verify with when the caller
 * asked for `verify: true` and this is the first head.
 */
export function acceptHead(
  head: HubFileHead,
  first: HubFileHead | undefined,
  position: number,
  options: { expected?: ExpectedFile; verify?: unknown },
  target: HubTarget,
): ContentDigest | undefined {
  if (first !== undefined) {
    if (head.size !== first.size || differ(head.etag, first.etag)) {
      throw new HubError("HUB_CHANGED", `the file changed on the Hub during the download (ETag ${first.etag} of ${first.size} bytes, now ${head.etag} of ${head.size}); pin a commit revision and start it again`, target);
    }
    return undefined;
  }
  const expected = options.expected ?? {};
  if (expected.size !== undefined && expected.size !== head.size) {
    throw new HubError("HUB_SIZE", `the Hub reports ${head.size} bytes, expected ${expected.size}`, target);
  }
  if (expected.lfs && differ(head.sha256, expected.lfs.sha256)) {
    throw new HubError("HUB_CHANGED", `the Hub serves LFS sha256 ${head.sha256}, expected ${expected.lfs.sha256}; the file is not the one expected (pin a commit revision)`, target);
  }
  if (expected.gitOid && !head.sha256 && isGitOid(head.etag) && differ(head.etag, expected.gitOid)) {
    throw new HubError("HUB_CHANGED", `the Hub serves git oid ${head.etag}, expected ${expected.gitOid}; the file is not the one expected (pin a commit revision)`, target);
  }
  if (expected.etag && differ(head.etag, expected.etag)) {
    throw new HubError("HUB_CHANGED", `the Hub now serves ETag ${head.etag}, the bytes before ${position} were downloaded at ETag ${expected.etag}; the file changed: start it again`, target);
  }
  if (position > head.size) {
    throw new HubError("HUB_SIZE", `cannot resume at byte ${position}: the file is ${head.size} bytes`, target);
  }
  return options.verify === true ? digestFor(head, expected, target) : undefined;
}

function differ(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a !== b;
}

function isGitOid(tag: string | undefined): tag is string {
  return tag !== undefined && /^[0-9a-f]{40}$/.test(tag);
}

/** LFS files are checked against their sha256, others against their git blob id (the ETag of a small file). */
function digestFor(head: HubFileHead, expected: ExpectedFile, target: HubTarget): ContentDigest {
  const sha256 = head.sha256 ?? expected.lfs?.sha256;
  if (sha256) return new ContentDigest({ kind: "sha256", hex: sha256 });
  const gitOid = expected.gitOid ?? (isGitOid(head.etag) ? head.etag : undefined);
  if (gitOid) return new ContentDigest({ kind: "git-blob", hex: gitOid, size: head.size });
  throw new HubError("HUB_DIGEST", "cannot verify: the Hub reports neither an LFS sha256 nor a git oid for this file", target);
}
