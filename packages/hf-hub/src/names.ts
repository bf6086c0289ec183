import { HubError } from "./errors.js";

/**
 * Repo ids, revisions and file paths come from recipes and listings, so they are checked before
 * they become part of a URL: a `..` segment would climb out of `/resolve/` (the URL parser folds
 * it away), and a control character could split a header line. The rules follow huggingface_hub's
 * `validate_repo_id`: `[owner/]name` of letters, digits, `-`, `_` and `.`, at most 96 characters.
 */
const REPO_PART = /^[A-Za-z0-9_.-]+$/;
const PLAIN_TEXT = /^[^\u0000-\u001f\u007f\\]+$/;

export function checkRepoId(repo: string): void {
  const parts = repo.split("/");
  const valid =
    repo.length <= 96 &&
    parts.length <= 2 &&
    parts.every((part) => REPO_PART.test(part) && !/^[-.]|[-.]$/.test(part)) &&
    !repo.includes("--") &&
    !repo.includes("..");
  if (!valid) throw new HubError("HUB_NAME", `repo id ${JSON.stringify(repo)} is not "owner/name" of letters, digits, "-", "_" and "."`);
}

/** A branch, tag or commit; may hold "/" (`refs/pr/1`), which is percent-encoded in URLs. */
export function checkRevision(revision: string): void {
  if (revision.length === 0 || revision.length > 256 || !PLAIN_TEXT.test(revision) || revision === "." || revision === "..") {
    throw new HubError("HUB_NAME", `revision ${JSON.stringify(revision)} is not a branch, tag or commit name`);
  }
}

/** A file inside the repo: relative, "/"-separated, no empty, "." or ".." segment. */
export function checkFilePath(path: string): void {
  const segments = path.split("/");
  if (path.length > 1024 || !PLAIN_TEXT.test(path) || segments.some((s) => s === "" || s === "." || s === "..")) {
    throw new HubError("HUB_NAME", `file path ${JSON.stringify(path)} is not a plain path inside the repo (no leading "/", no "." or ".." parts)`);
  }
}

/** `{endpoint}/{repo}/resolve/{revision}/{path}`, the URL huggingface_hub's `hf_hub_url` builds. */
export function resolveUrl(endpoint: URL, repo: string, revision: string, path: string): URL {
  checkRepoId(repo);
  checkRevision(revision);
  checkFilePath(path);
  const encodedPath = path.split("/").map(encodeURIComponent).join("/");
  return new URL(`${endpointBase(endpoint)}/${repo}/resolve/${encodeURIComponent(revision)}/${encodedPath}`);
}

/** The endpoint as a prefix without a trailing "/" (an endpoint may sit under a path on a mirror). */
export function endpointBase(endpoint: URL): string {
  return `${endpoint.origin}${endpoint.pathname.replace(/\/+$/, "")}`;
}
