import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FaultState } from "./faults.js";
import { serveBytes } from "./serve-bytes.js";
import type { ServedFile, ServedRepo } from "./served-repo.js";

export interface RouteContext {
  repos: Map<string, { repo: ServedRepo; tokens?: string[] }>;
  renamed: Record<string, string>;
  treePageSize: number;
  cdnOrigin: string;
  faultsFor(repo: string, path: string): FaultState;
  count(req: IncomingMessage, repo: string, path: string, bytes: number): void;
}

/** The endpoint's routes: resolve (files), the tree and paths-info APIs; the Hub's error headers. */
export async function routeHub(context: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
  const api = /^\/api\/models\/([^/]+\/[^/]+)\/(tree|paths-info)\/([^/]+)(?:\/(.+))?$/.exec(url.pathname);
  if (api) {
    const served = access(context, api[1]!, decodeURIComponent(api[3]!), req, res);
    if (served && api[2] === "tree") return listTree(context, served, url, res, api[4] ? decodePath(api[4]) : "");
    if (served) return pathsInfo(served, req, res);
    return;
  }
  const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (!resolve) return sendError(res, 404, undefined, "Not Found");
  const [, repoId = "", rawRevision = "", rawPath = ""] = resolve;
  const newId = context.renamed[repoId];
  if (newId) {
    res.writeHead(307, { location: `/${newId}/resolve/${rawRevision}/${rawPath}` }).end();
    return;
  }
  const served = access(context, repoId, decodeURIComponent(rawRevision), req, res);
  if (!served) return;
  const path = decodePath(rawPath);
  const file = served.files.get(path);
  if (!file) return sendError(res, 404, "EntryNotFound", `Entry not found: ${path}`);
  const faults = context.faultsFor(repoId, path);
  const wait = faults.takeHeaderDelay();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  if (faults.takeUnavailable()) return sendError(res, 503, undefined, "Service Unavailable", { "retry-after": "0" });
  const headers = { "x-repo-commit": served.commit, etag: `"${file.gitOid}"` };
  if (!file.lfs) return serveBytes(req, res, file, headers, faults, (n) => context.count(req, repoId, path, n));
  // An LFS file: the Hub names it (X-Linked-*) and redirects to a signed URL on its CDN.
  const location = `${context.cdnOrigin}/blobs/${file.sha256}?repo=${encodeURIComponent(repoId)}&file=${encodeURIComponent(path)}&sig=${randomBytes(8).toString("hex")}`;
  res.writeHead(302, { ...headers, location, "x-linked-etag": `"${file.sha256}"`, "x-linked-size": String(file.size) }).end(`Found. Redirecting to ${location}`);
}

/** The repo at a revision the caller may read, or the Hub's refusal written to `res`. */
function access(context: RouteContext, repoId: string, revision: string, req: IncomingMessage, res: ServerResponse): ServedRepo | undefined {
  const entry = context.repos.get(repoId);
  const authorization = req.headers.authorization;
  // The Hub does not tell an anonymous caller whether a private repo exists: 401, not 404.
  if (!entry) return void sendError(res, authorization ? 404 : 401, "RepoNotFound", "Repository Not Found");
  if (entry.tokens && !entry.tokens.some((token) => authorization === `Bearer ${token}`)) {
    return void sendError(res, authorization ? 403 : 401, "GatedRepo", `Access to model ${repoId} is restricted.`);
  }
  if (revision !== "main" && revision !== entry.repo.commit) return void sendError(res, 404, "RevisionNotFound", `Invalid rev id: ${revision}`);
  return entry.repo;
}

function listTree(context: RouteContext, served: ServedRepo, url: URL, res: ServerResponse, under: string): void {
  const recursive = url.searchParams.get("recursive") === "true";
  const prefix = under ? `${under}/` : "";
  const entries = treeEntries(served)
    .filter((e) => e.path.startsWith(prefix) && (recursive || !e.path.slice(prefix.length).includes("/")))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  const cursor = Number(url.searchParams.get("cursor") ?? 0);
  const page = entries.slice(cursor, cursor + context.treePageSize);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (cursor + context.treePageSize < entries.length) {
    const next = new URL(url);
    next.searchParams.set("cursor", String(cursor + context.treePageSize));
    headers.link = `<${next.href}>; rel="next"`;
  }
  res.writeHead(200, headers).end(JSON.stringify(page));
}

async function pathsInfo(served: ServedRepo, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body = "";
  for await (const chunk of req) body += chunk;
  const paths: unknown = JSON.parse(body || "{}").paths;
  if (!Array.isArray(paths)) return sendError(res, 400, undefined, "paths must be an array");
  const wanted = new Set(paths);
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(treeEntries(served).filter((e) => wanted.has(e.path))));
}

function treeEntries(served: ServedRepo): { path: string }[] {
  const files = [...served.files.values()].map(fileEntry);
  const dirs = new Set(files.flatMap((f) => f.path.split("/").slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join("/"))));
  const dirEntries = [...dirs].map((path) => ({ type: "directory", oid: createHash("sha1").update(path).digest("hex"), size: 0, path }));
  return [...files, ...dirEntries];
}

function fileEntry(file: ServedFile) {
  const lfs = file.lfs ? { lfs: { oid: file.sha256, size: file.size, pointerSize: file.lfs.pointerSize } } : {};
  return { type: "file", oid: file.gitOid, size: file.size, path: file.path, ...lfs };
}

function decodePath(raw: string): string {
  return raw.split("/").map(decodeURIComponent).join("/");
}

function sendError(res: ServerResponse, status: number, errorCode: string | undefined, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, "content-type": "application/json", ...(errorCode ? { "x-error-code": errorCode } : {}) }).end(JSON.stringify({ error: message }));
}
