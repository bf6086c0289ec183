import type { ApiContext } from "./api-fetch.js";
import { hubEndpoint, parseEndpoint } from "./endpoint.js";
import type { HubTarget } from "./errors.js";
import { HubFileStream } from "./file-stream.js";
import type { OpenFileOptions, StreamSettings } from "./stream-options.js";
import { listRepoFiles, repoPathsInfo, type HubFile } from "./list-files.js";
import { checkRepoId, checkRevision, resolveUrl } from "./names.js";
import { DEFAULT_RETRY_POLICY } from "./retry.js";
import { checkToken, readHubToken } from "./token.js";
import { Transport } from "./transport.js";

export interface HubClientOptions {
  /** The Hub or a mirror; default HF_ENDPOINT from `env`, else https://huggingface.co. */
  endpoint?: string | URL;
  /** Sent as `Authorization: Bearer` to the endpoint's origin only (see `mayCarryToken`). */
  token?: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for response headers (default 30 s). */
  fetchTimeoutMs?: number;
  /** How long a body may send nothing before the attempt is dropped and resumed (default 30 s). */
  idleTimeoutMs?: number;
  /** Failed attempts in a row, without progress in between, before HUB_TRANSFER (default 5). */
  retries?: number;
  /** First backoff delay, doubled per failure in a row (default 1 s), up to `retryMaxDelayMs` (default 30 s). */
  retryDelayMs?: number;
  retryMaxDelayMs?: number;
  fetch?: typeof fetch;
  userAgent?: string;
}

/**
 * The Hub as model-recover uses it: list a repo's files with sizes and LFS sha256s, and stream a
 * file's bytes with resume and verification. Holds no connection state; one client serves any
 * number of concurrent downloads.
 */
export class HubClient {
  readonly endpoint: URL;
  private readonly settings: StreamSettings;

  constructor(options: HubClientOptions = {}) {
    this.endpoint = options.endpoint === undefined ? hubEndpoint(options.env) : parseEndpoint(String(options.endpoint));
    const token = options.token ? checkToken(options.token, "the token") : undefined;
    const transport = new Transport(this.endpoint, token, options.fetch ?? globalThis.fetch, options.userAgent ?? "model-recover-hf-hub/0.1");
    const policy = {
      retries: options.retries ?? DEFAULT_RETRY_POLICY.retries,
      baseDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
      maxDelayMs: options.retryMaxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs,
    };
    this.settings = { transport, policy, headersTimeoutMs: options.fetchTimeoutMs ?? 30_000, idleTimeoutMs: options.idleTimeoutMs ?? 30_000 };
  }

  /** Endpoint from HF_ENDPOINT, token from `tokenFile` or HF_TOKEN (see `readHubToken`), unless given. */
  static async fromEnvironment(options: HubClientOptions & { tokenFile?: string } = {}): Promise<HubClient> {
    const token = options.token ?? (await readHubToken({ tokenFile: options.tokenFile, env: options.env }));
    return new HubClient({ ...options, token });
  }

  get hasToken(): boolean {
    return this.settings.transport.hasToken;
  }

  /** Every file of the repo at `revision`, with sizes, git oids and LFS sha256s. */
  listFiles(repo: string, revision: string, options: { signal?: AbortSignal } = {}): Promise<HubFile[]> {
    return listRepoFiles(this.apiContext({ repo, revision }, options.signal));
  }

  /** The named files, in the order given; HUB_NOT_FOUND for one the Hub does not have. */
  pathsInfo(repo: string, revision: string, paths: readonly string[], options: { signal?: AbortSignal } = {}): Promise<HubFile[]> {
    return repoPathsInfo(this.apiContext({ repo, revision }, options.signal), paths);
  }

  /** `{endpoint}/{repo}/resolve/{revision}/{path}`. */
  fileUrl(repo: string, revision: string, path: string): URL {
    return resolveUrl(this.endpoint, repo, revision, path);
  }

  /** The file's bytes from `options.from` on; nothing is requested before the first read. */
  openFile(repo: string, revision: string, path: string, options: OpenFileOptions = {}): HubFileStream {
    return new HubFileStream(this.settings, this.fileUrl(repo, revision, path), { repo, revision, path }, options);
  }

  private apiContext(target: HubTarget, signal?: AbortSignal): ApiContext {
    checkRepoId(target.repo);
    checkRevision(target.revision);
    return { ...this.settings, target, signal };
  }
}
