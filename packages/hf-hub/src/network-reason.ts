/**
 * A short reason for a failed request or body read, from what fetch (undici) reports: the cause's
 * message and system or undici error code ("other side closed (UND_ERR_SOCKET)", "read ECONNRESET"),
 * else the error's own message ("terminated"). None of them ever holds request headers, so never the token.
 */
export function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  const message = typeof cause?.message === "string" && cause.message ? cause.message : error instanceof Error ? error.message : String(error);
  const reason = code && !message.includes(code) ? `${message} (${code})` : message;
  return reason.slice(0, 200);
}
