import { mayCarryToken } from "./endpoint.js";
import { HubError, type HubTarget } from "./errors.js";

/** huggingface_hub follows relative redirects itself and one redirect to the CDN; 10 hops is ample. */
const MAX_REDIRECTS = 10;

export interface ExchangeInit {
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

/** The end of a redirect chain. */
export interface Exchange {
  /** The first response that is not a redirect; its body is unread. */
  response: Response;
  url: URL;
  /** The headers of the last hop the endpoint itself answered: X-Linked-Etag, X-Linked-Size and X-Repo-Commit live there. */
  hubHeaders: Headers;
  /** Whether the final response came from the endpoint's origin (a 403 there means access, elsewhere an expired CDN URL). */
  fromEndpoint: boolean;
  /** Whether the token went along on the endpoint's hops. */
  tokenSent: boolean;
}

/**
 * Requests with redirects followed by hand (`redirect: "manual"`), so the token rule is ours and not
 * the fetch implementation's: see `mayCarryToken`. The token lives in a private field and is only
 * ever written into a request header.
 */
export class Transport {
  readonly #token: string | undefined;

  constructor(
    readonly endpoint: URL,
    token: string | undefined,
    private readonly fetchImpl: typeof fetch,
    private readonly userAgent: string,
  ) {
    this.#token = token;
  }

  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  async exchange(start: URL, init: ExchangeInit, target: HubTarget): Promise<Exchange> {
    let url = start;
    let method = init.method ?? "GET";
    let body = init.body;
    let onEndpoint = url.origin === this.endpoint.origin;
    let hubHeaders: Headers | undefined;
    let tokenSent = false;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const withToken = onEndpoint && this.#token !== undefined && mayCarryToken(url, this.endpoint);
      const headers: Record<string, string> = { ...init.headers, "user-agent": this.userAgent };
      if (withToken) headers.authorization = `Bearer ${this.#token}`;
      const response = await this.fetchImpl(url, { method, headers, body, redirect: "manual", signal: init.signal });
      if (onEndpoint) {
        hubHeaders = response.headers;
        tokenSent = withToken;
      }
      const location = isRedirect(response.status) ? response.headers.get("location") : null;
      if (location === null) return { response, url, hubHeaders: hubHeaders ?? new Headers(), fromEndpoint: onEndpoint, tokenSent };
      await response.body?.cancel();
      url = nextUrl(location, url, target);
      onEndpoint &&= url.origin === this.endpoint.origin;
      // RFC 9110 §15.4: a 303, and in practice a 301/302 after POST, is followed with GET.
      if (response.status === 303 || (method === "POST" && response.status <= 302)) {
        method = "GET";
        body = undefined;
      }
    }
    throw new HubError("HUB_PROTOCOL", `more than ${MAX_REDIRECTS} redirects; the endpoint ${this.endpoint.origin} is misconfigured`, target);
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function nextUrl(location: string, from: URL, target: HubTarget): URL {
  let url: URL;
  try {
    url = new URL(location, from);
  } catch {
    throw new HubError("HUB_PROTOCOL", `a redirect from ${from.origin} names no usable URL`, target);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new HubError("HUB_PROTOCOL", `a redirect from ${from.origin} leads to a ${url.protocol} URL; only http(s) is followed`, target);
  }
  return url;
}
