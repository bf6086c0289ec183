/**
 * A short reason for a failed request or body read, from what fetch (undici) reports: the system
 * error code where there is one (ECONNRESET, ECONNREFUSED), else the message ("terminated" for a
 * connection closed mid-body). Neither ever holds request headers, so never the token.
 */
export function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === "string") return cause.code;
  const message = error instanceof Error ? error.message : String(error);
  const causeMessage = typeof cause?.message === "string" ? ` (${cause.message})` : "";
  return `${message}${causeMessage}`.slice(0, 200);
}
