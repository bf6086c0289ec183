import { describe, expect, it } from "vitest";
import { isRetryableStatus, parseRetryAfter, retryDelay, sleep } from "./retry.js";

const policy = { retries: 5, baseDelayMs: 1000, maxDelayMs: 30_000 };

describe("retryDelay", () => {
  it("doubles per failure in a row, with jitter between half and all of it, capped", () => {
    for (const [failures, full] of [[1, 1000], [2, 2000], [3, 4000], [6, 30_000], [60, 30_000]] as const) {
      for (let i = 0; i < 50; i++) {
        const delay = retryDelay(policy, failures);
        expect(delay).toBeGreaterThanOrEqual(full / 2);
        expect(delay).toBeLessThanOrEqual(full);
      }
    }
  });

  it("takes the server's Retry-After, capped at the maximum", () => {
    expect(retryDelay(policy, 1, 0)).toBe(0);
    expect(retryDelay(policy, 3, 5000)).toBe(5000);
    expect(retryDelay(policy, 1, 3_600_000)).toBe(30_000);
  });
});

describe("parseRetryAfter (RFC 9110 §10.2.3)", () => {
  it("reads seconds and HTTP dates, and ignores what is neither", () => {
    const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe("isRetryableStatus", () => {
  it("retries 408, 429 and 5xx, nothing else", () => {
    expect([200, 206, 400, 401, 403, 404, 408, 416, 429, 500, 503, 599].filter(isRetryableStatus)).toEqual([408, 429, 500, 503, 599]);
  });
});

describe("sleep", () => {
  it("rejects with the signal's reason when aborted", async () => {
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
  });
});
