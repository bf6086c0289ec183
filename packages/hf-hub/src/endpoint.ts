import { HubError } from "./errors.js";

export const DEFAULT_ENDPOINT = "https://huggingface.co";

/** HF_ENDPOINT picks a mirror, as in huggingface_hub (`constants.ENDPOINT`); otherwise huggingface.co. */
export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): URL {
  const configured = env.HF_ENDPOINT?.trim();
  return parseEndpoint(configured ? configured : DEFAULT_ENDPOINT, configured ? "HF_ENDPOINT" : "endpoint");
}

/** An http(s) origin, optionally under a path; no credentials, query or fragment. */
export function parseEndpoint(text: string, source = "endpoint"): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new HubError("HUB_ENDPOINT", `${source} ${JSON.stringify(redactEndpoint(text))} is not a URL; expected e.g. ${DEFAULT_ENDPOINT}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new HubError("HUB_ENDPOINT", `${source} ${redactEndpoint(url.href)}: expected an http:// or https:// URL such as ${DEFAULT_ENDPOINT}, found ${url.protocol}`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new HubError("HUB_ENDPOINT", `${source} ${redactEndpoint(url.href)} must be a plain origin such as ${DEFAULT_ENDPOINT}: no user, password, query or fragment`);
  }
  return url;
}

/** Longer than any mirror's address: past this a message shows the start of the text only. */
const SHOWN_CHARS = 100;

/**
 * An endpoint as a message may show it: what could be a secret (a user and password before an `@`,
 * a query or fragment that may carry a token, anything shaped like a token) is replaced by `***`, and
 * a long text is cut, so that a token pasted by mistake is never printed whole.
 */
function redactEndpoint(text: string): string {
  const masked = text
    .replace(/^([a-z][a-z0-9+.-]*:\/*).*@/is, "$1***@")
    .replace(/([?#]).*$/s, "$1***")
    // A token pasted where the address goes: Hugging Face's start with hf_; no host name has a 20-character word.
    .replace(/hf_\w*|\w{20,}/g, "***");
  return masked.length > SHOWN_CHARS ? `${masked.slice(0, SHOWN_CHARS)}…` : masked;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);

function isLoopback(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * The token rule. `Authorization: Bearer` goes only to the endpoint's own origin (scheme, host and
 * port), and only over HTTPS, or plain HTTP to a loopback host (tests, local mirrors). This is
 * huggingface_hub's rule (`_get_metadata_or_catch_error` drops `authorization` when the resolve
 * redirect leaves the endpoint's host: the CDN URL is signed) made strict to the origin, as the
 * fetch standard that huggingface.js relies on does (a cross-origin redirect drops Authorization).
 * Once a redirect chain has left the origin the token is not sent again, even on a hop back.
 */
export function mayCarryToken(url: URL, endpoint: URL): boolean {
  return url.origin === endpoint.origin && (url.protocol === "https:" || isLoopback(url));
}
