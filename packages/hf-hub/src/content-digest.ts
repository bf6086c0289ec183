import { createHash, type Hash } from "node:crypto";
import { HubError, type HubTarget } from "./errors.js";

/** What a download can be checked against: the LFS sha256, or for a small file its git blob id. */
export type ExpectedDigest = { kind: "sha256"; hex: string } | { kind: "git-blob"; hex: string; size: number };

/**
 * The hash of a file's content as it streams past, checked against what the Hub reports: for LFS
 * files the sha256 of the content (the LFS oid, X-Linked-Etag), for other files the git blob id
 * (sha1 of `blob <size>\0` and the content: the `oid` of the listing and the file's ETag). A
 * download resumed from an offset needs the bytes before it fed first (`update`), e.g. from the
 * partial file on disk; `bytes` says how many have been.
 */
export class ContentDigest {
  private readonly hash: Hash;
  bytes = 0;

  constructor(readonly expected: ExpectedDigest) {
    if (!/^[0-9a-f]+$/.test(expected.hex)) throw new TypeError(`expected digest must be lowercase hex, got ${JSON.stringify(expected.hex)}`);
    this.hash = createHash(expected.kind === "sha256" ? "sha256" : "sha1");
    if (expected.kind === "git-blob") this.hash.update(`blob ${expected.size}\0`);
  }

  /** For a file as listed: its LFS sha256 when it has one, else its git blob id. */
  static forFile(file: { size: number; gitOid?: string; lfs?: { sha256: string } }): ContentDigest {
    if (file.lfs) return new ContentDigest({ kind: "sha256", hex: file.lfs.sha256 });
    if (file.gitOid) return new ContentDigest({ kind: "git-blob", hex: file.gitOid, size: file.size });
    throw new TypeError("the file has neither an LFS sha256 nor a git oid to check against");
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  /** Throws HUB_DIGEST when the bytes fed do not hash to the expected digest. */
  verify(target: HubTarget): void {
    const found = this.hash.digest("hex");
    if (found === this.expected.hex) return;
    const what = this.expected.kind === "sha256" ? "sha256" : "git blob id";
    throw new HubError("HUB_DIGEST", `the ${what} of the ${this.bytes} bytes received is ${found}, the Hub reports ${this.expected.hex}; the download is corrupt, run it again`, target);
  }
}
