import { AttemptTimer } from "./attempt-timer.js";
import { HubError, type HubTarget } from "./errors.js";
import { retryDelay, sleep, type RetryPolicy } from "./retry.js";
import { failureFor, TransientFailure } from "./status.js";
import { networkReason } from "./network-reason.js";
import type { Transport } from "./transport.js";

/** A listing page of the Hub is a few hundred kB; anything past this is not a listing. */
const MAX_API_BODY_BYTES = 16 * 1024 * 1024;
/** Pages one listing may take (the tree API pages by 1,000 entries): a bound on a server that pages forever. */
const MAX_API_REQUESTS = 1000;

export interface ApiContext {
  transport: Transport;
  policy: RetryPolicy;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  target: HubTarget;
  signal?: AbortSignal;
}

/**
 * The `fetch` handed to @huggingface/hub, so that its requests follow our token rule (it is given
 * no token: ours adds the header where the rule allows), retry transient failures, and fail with
 * a HubError naming repo and revision. Bodies are read here, bounded, and handed over whole.
 */
export function apiFetch(context: ApiContext): typeof fetch {
  let requests = 0;
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    if (++requests > MAX_API_REQUESTS) {
      throw new HubError("HUB_PROTOCOL", `the listing went on past ${MAX_API_REQUESTS} pages; the endpoint is misbehaving`, context.target);
    }
    const url = new URL(input instanceof Request ? input.url : input);
    const headers = Object.fromEntries(new Headers(init.headers));
    delete headers.authorization;
    const method = init.method === "POST" ? "POST" : "GET";
    const body = typeof init.body === "string" ? init.body : undefined;
    for (let failures = 0; ; ) {
      try {
        return await attempt(context, url, { method, headers, body });
      } catch (error) {
        if (context.signal?.aborted) throw context.signal.reason;
        if (!(error instanceof TransientFailure)) throw error;
        if (++failures > context.policy.retries) {
          throw new HubError("HUB_TRANSFER", `the Hub API failed ${failures} times in a row (last: ${error.reason}); check the network and run again`, context.target);
        }
        await sleep(retryDelay(context.policy, failures, error.retryAfterMs), context.signal);
      }
    }
  }) as typeof fetch;
}

async function attempt(context: ApiContext, url: URL, init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string }): Promise<Response> {
  const timer = new AttemptTimer(context.signal);
  try {
    timer.arm(context.headersTimeoutMs, () => `no response within ${context.headersTimeoutMs / 1000} s`);
    const exchange = await context.transport.exchange(url, { ...init, signal: timer.signal }, context.target);
    const { response } = exchange;
    if (!response.ok) {
      await response.body?.cancel();
      throw failureFor(exchange, context.target, context.transport.hasToken);
    }
    timer.arm(context.idleTimeoutMs, () => `no data for ${context.idleTimeoutMs / 1000} s`);
    const body = await readBounded(response, timer, context.target, exchange.url.origin);
    return new Response(body, { status: response.status, headers: response.headers });
  } catch (error) {
    if (error instanceof HubError || error instanceof TransientFailure || context.signal?.aborted) throw error;
    throw new TransientFailure(timer.stalled ?? networkReason(error));
  } finally {
    timer.dispose();
  }
}

async function readBounded(response: Response, timer: AttemptTimer, target: HubTarget, origin: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of response.body ?? []) {
    timer.refresh();
    length += chunk.length;
    if (length > MAX_API_BODY_BYTES) {
      throw new HubError("HUB_PROTOCOL", `an API answer from ${origin} is over ${MAX_API_BODY_BYTES} bytes; the endpoint is misbehaving`, target);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length);
}
