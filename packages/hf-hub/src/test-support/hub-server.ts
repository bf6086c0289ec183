import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FaultState, type FileFaults } from "./faults.js";
import { routeHub, type RouteContext } from "./hub-routes.js";
import { serveBytes } from "./serve-bytes.js";
import { ServedRepo } from "./served-repo.js";

export type { FileFaults } from "./faults.js";
export { gitBlobId } from "./served-repo.js";

export interface HubServerOptions {
  /** Repo id ("owner/name") → the folder served as its files, and the tokens that may read it (none: public). */
  repos: Record<string, { dir: string; tokens?: string[] }>;
  /** Files this big or bigger are LFS files, redirected to the CDN origin (default 10 MiB). */
  lfsMinBytes?: number;
  /** Old repo id → new one: resolve answers 307 with a relative Location, as the Hub does for a renamed repo. */
  renamed?: Record<string, string>;
  /** Entries per page of the tree API (Link rel="next"); default 1000, as on the Hub. */
  treePageSize?: number;
}

/** One request as a server received it. */
export interface RecordedRequest {
  origin: "hub" | "cdn";
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  status?: number;
  /** Body bytes of a file sent in answer to this request. */
  bodyBytes: number;
}

/**
 * A Hugging Face Hub for tests, on 127.0.0.1 only: the endpoint (resolve, tree and paths-info
 * APIs, gated repos, the Hub's headers and error codes) and a second origin playing the LFS CDN
 * that the endpoint redirects large files to. Faults can be injected per file; every request is
 * recorded with its headers and every body byte sent is counted per file.
 */
export class HubServer {
  readonly requests: RecordedRequest[] = [];
  private readonly faults = new Map<string, FaultState>();
  private readonly served = new Map<string, number>();
  private readonly repos = new Map<string, { repo: ServedRepo; tokens?: string[] }>();
  private readonly records = new WeakMap<IncomingMessage, RecordedRequest>();

  private constructor(
    private readonly hub: Server,
    private readonly cdn: Server,
  ) {}

  static async start(options: HubServerOptions): Promise<HubServer> {
    const server = new HubServer(createServer(), createServer());
    for (const [id, { dir, tokens }] of Object.entries(options.repos)) {
      const repo = new ServedRepo(dir, options.lfsMinBytes ?? 10 * 1024 * 1024);
      await repo.scan();
      server.repos.set(id, { repo, tokens });
    }
    await Promise.all([listen(server.hub), listen(server.cdn)]);
    const context: RouteContext = {
      repos: server.repos,
      renamed: options.renamed ?? {},
      treePageSize: options.treePageSize ?? 1000,
      cdnOrigin: server.cdnOrigin,
      faultsFor: (repo, path) => server.faultsFor(repo, path),
      count: (req, repo, path, bytes) => server.count(req, repo, path, bytes),
    };
    server.hub.on("request", server.recorded("hub", (req, res) => routeHub(context, req, res)));
    server.cdn.on("request", server.recorded("cdn", (req, res) => server.routeCdn(req, res)));
    return server;
  }

  /** `http://127.0.0.1:<port>`: what HF_ENDPOINT would be set to. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
  }

  get cdnOrigin(): string {
    return `http://127.0.0.1:${(this.cdn.address() as AddressInfo).port}`;
  }

  /** The current commit of a repo (it changes when `updateFile` changes a file). */
  commit(repo: string): string {
    return this.repo(repo).commit;
  }

  /** Body bytes sent for one file so far, by both origins, over all requests. */
  bytesServed(repo: string, path: string): number {
    return this.served.get(`${repo}\0${path}`) ?? 0;
  }

  setFaults(repo: string, path: string, faults: FileFaults): void {
    this.faults.set(`${repo}\0${path}`, new FaultState({ ...faults }));
  }

  updateFile(repo: string, path: string, bytes: Uint8Array): void {
    this.repo(repo).updateFile(path, bytes);
  }

  /** Forget the requests and byte counts so far (faults stay). */
  clearLog(): void {
    this.requests.length = 0;
    this.served.clear();
  }

  async close(): Promise<void> {
    for (const server of [this.hub, this.cdn]) server.closeAllConnections();
    await Promise.all([this.hub, this.cdn].map((server) => new Promise((resolve) => server.close(resolve))));
  }

  private repo(id: string): ServedRepo {
    const entry = this.repos.get(id);
    if (!entry) throw new Error(`the test server serves no repo ${id}`);
    return entry.repo;
  }

  private faultsFor(repo: string, path: string): FaultState {
    return this.faults.get(`${repo}\0${path}`) ?? new FaultState({});
  }

  private count(req: IncomingMessage, repo: string, path: string, bytes: number): void {
    const record = this.records.get(req);
    if (record) record.bodyBytes += bytes;
    const key = `${repo}\0${path}`;
    this.served.set(key, (this.served.get(key) ?? 0) + bytes);
  }

  /** The CDN serves an LFS object by the signed URL the endpoint gave out; a stale one (the file changed) is 404. */
  private async routeCdn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.cdnOrigin);
    const [repoId, path] = [url.searchParams.get("repo") ?? "", url.searchParams.get("file") ?? ""];
    const file = this.repos.get(repoId)?.repo.files.get(path);
    if (!file || url.pathname !== `/blobs/${file.sha256}`) {
      res.writeHead(404, { "content-type": "text/plain" }).end("NoSuchKey");
      return;
    }
    const headers = { etag: `"${file.sha256.slice(0, 32)}"` };
    await serveBytes(req, res, file, headers, this.faultsFor(repoId, path), (n) => this.count(req, repoId, path, n));
  }

  private recorded(origin: "hub" | "cdn", handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>) {
    return (req: IncomingMessage, res: ServerResponse) => {
      const record: RecordedRequest = { origin, method: req.method ?? "GET", url: req.url ?? "/", headers: { ...req.headers }, bodyBytes: 0 };
      this.requests.push(record);
      this.records.set(req, record);
      // Every route answers through writeHead: the status is known as soon as the headers go out.
      const writeHead = res.writeHead;
      res.writeHead = function (this: ServerResponse, status: number, ...rest: unknown[]) {
        record.status = status;
        return writeHead.apply(this, [status, ...rest] as never);
      } as typeof res.writeHead;
      handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(error));
        else res.destroy();
      });
    };
  }
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
}

export const startHubServer = HubServer.start;
