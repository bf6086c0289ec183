import { listFiles, pathsInfo } from "@huggingface/hub";
import { apiFetch, type ApiContext } from "./api-fetch.js";
import { HubError, type HubTarget } from "./errors.js";
import { checkFilePath, endpointBase } from "./names.js";

/** A file of a repo at a revision, as the Hub lists it (tree and paths-info APIs). */
export interface HubFile {
  path: string;
  /** Bytes of the file's content (for an LFS file, of the LFS object, not of its pointer). */
  size: number;
  /** The git blob id (sha1) the Hub reports; for an LFS file it is the pointer's. */
  gitOid: string;
  /** Present for LFS files: the sha256 of the content (the LFS oid) and its size. */
  lfs?: { sha256: string; size: number };
}

/** A model repo with more files than this is not something this tool downloads. */
const MAX_LISTED_FILES = 100_000;

/**
 * Every file of the repo at `revision`, through @huggingface/hub's `listFiles` (the tree API with
 * its Link-header paging). The library gets our fetch and no token; see `apiFetch`.
 */
export async function listRepoFiles(context: ApiContext): Promise<HubFile[]> {
  const { repo, revision } = context.target;
  const files: HubFile[] = [];
  await callLibrary(context, async () => {
    // listFiles puts the revision into the URL as it is (pathsInfo encodes it): "refs/pr/1" must arrive encoded.
    const entries = listFiles({ repo: { type: "model", name: repo }, revision: encodeURIComponent(revision), recursive: true, hubUrl: endpointBase(context.transport.endpoint), fetch: apiFetch(context) });
    for await (const entry of entries) {
      if (entry.type !== "file") continue;
      files.push(checkedEntry(entry, context.target));
      if (files.length > MAX_LISTED_FILES) throw new HubError("HUB_PROTOCOL", `the listing holds more than ${MAX_LISTED_FILES} files`, context.target);
    }
  });
  return files;
}

/** The named files only (paths-info API); a path the Hub does not know is HUB_NOT_FOUND. */
export async function repoPathsInfo(context: ApiContext, paths: readonly string[]): Promise<HubFile[]> {
  for (const path of paths) checkFilePath(path);
  const { repo, revision } = context.target;
  const entries = await callLibrary(context, () => pathsInfo({ repo: { type: "model", name: repo }, revision, paths: [...paths], hubUrl: endpointBase(context.transport.endpoint), fetch: apiFetch(context) }));
  const byPath = new Map(entries.filter((e) => e.type === "file").map((e) => [e.path, checkedEntry(e, context.target)]));
  return paths.map((path) => {
    const file = byPath.get(path);
    if (!file) throw new HubError("HUB_NOT_FOUND", "file not found at this revision (paths-info lists no such file); check the file name", { ...context.target, path });
    return file;
  });
}

/** Our HubErrors pass through; anything else the library throws means it could not read the answer. */
async function callLibrary<T>(context: ApiContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof HubError || context.signal?.aborted) throw error;
    throw new HubError("HUB_PROTOCOL", `the Hub's answer is not the JSON listing expected (${error instanceof Error ? error.name : "error"})`, context.target);
  }
}

interface RawEntry {
  path: unknown;
  size: unknown;
  oid?: unknown;
  lfs?: { oid?: unknown; size?: unknown } | undefined;
}

/** Listings come from the network: every field is checked before a path or size is trusted. */
function checkedEntry(entry: RawEntry, target: HubTarget): HubFile {
  const { path, size, oid, lfs } = entry;
  const where = typeof path === "string" ? JSON.stringify(path.slice(0, 200)) : "an entry";
  const fail = (what: string) => new HubError("HUB_PROTOCOL", `the listing's ${where}: ${what}`, target);
  if (typeof path !== "string") throw fail("has no path");
  try {
    checkFilePath(path);
  } catch {
    throw fail("is not a plain path inside the repo");
  }
  if (!isSize(size)) throw fail(`size ${JSON.stringify(size)} is not a byte count`);
  if (typeof oid !== "string" || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(oid)) throw fail("has no git oid (40 hex digits)");
  const file: HubFile = { path, size, gitOid: oid };
  if (lfs !== undefined) {
    if (typeof lfs.oid !== "string" || !/^[0-9a-f]{64}$/.test(lfs.oid)) throw fail("LFS oid is not a sha256 (64 hex digits)");
    if (lfs.size !== size) throw fail(`LFS size ${JSON.stringify(lfs.size)} differs from the file size ${size}`);
    file.lfs = { sha256: lfs.oid, size };
  }
  return file;
}

function isSize(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
