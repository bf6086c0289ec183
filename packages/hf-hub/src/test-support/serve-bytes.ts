import type { IncomingMessage, ServerResponse } from "node:http";
import type { FaultState } from "./faults.js";
import { sendFileBody } from "./file-body.js";
import type { ServedFile } from "./served-repo.js";

/**
 * A file's bytes as the Hub (small files) and its CDN (LFS files) serve them: `Range: bytes=N-` and
 * `bytes=N-M` answered 206 with Content-Range, a range past the end 416 with `bytes *\/size`, and the
 * file's faults applied on the way.
 */
export async function serveBytes(
  req: IncomingMessage,
  res: ServerResponse,
  file: ServedFile,
  headers: Record<string, string>,
  faults: FaultState,
  count: (bytes: number) => void,
): Promise<void> {
  const range = parseRange(req.headers.range, file.size);
  if (range === "unsatisfiable") {
    res.writeHead(416, { ...headers, "content-range": `bytes */${file.size}` }).end();
    return;
  }
  let [status, start, end] = range && !faults.takeIgnoreRange() ? [206, range.start, range.end] : [200, 0, file.size];
  if (end > start && faults.takePartialRange()) [status, end] = [206, start + Math.ceil((end - start) / 2)];
  const chunked = (faults.faults.overflowBytes ?? 0) > 0;
  res.writeHead(status, {
    ...headers,
    "accept-ranges": "bytes",
    "content-type": "application/octet-stream",
    ...(chunked ? {} : { "content-length": String(end - start) }),
    ...(status === 206 ? { "content-range": `bytes ${start}-${end - 1}/${file.size}` } : {}),
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  await sendFileBody(res, file.absolutePath, start, end, faults, count);
}

function parseRange(header: string | undefined, size: number): { start: number; end: number } | "unsatisfiable" | undefined {
  const match = header === undefined ? null : /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = match[2] === "" ? size : Math.min(size, Number(match[2]) + 1);
  if (start >= size || end <= start) return "unsatisfiable";
  return { start, end };
}
