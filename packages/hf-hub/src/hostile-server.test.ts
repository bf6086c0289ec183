import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubClient } from "./hub-client.js";
import { collect } from "./test-support/seeded-repo.js";

// A server that answers a file download with headers no Hub sends: each is a typed error naming
// the file, never bytes handed out on a guess.
let server: Server;
let answer: (req: IncomingMessage, res: ServerResponse) => void;
let client: HubClient;
let origin: string;

beforeAll(async () => {
  server = createServer((req, res) => answer(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new HubClient({ endpoint: origin, retries: 1, retryDelayMs: 1 });
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const PREFIX = "o/n@main f.bin: ";
const body = Buffer.alloc(100, 7);

const cases: [string, (req: IncomingMessage, res: ServerResponse) => void, number, string, string][] = [
  ["a 206 without Content-Range", (_q, s) => s.writeHead(206).end(body), 5, "HUB_PROTOCOL", '206 without a usable Content-Range (null) (from ORIGIN)'],
  ["a range that starts after the byte asked for", (_q, s) => s.writeHead(206, { "content-range": "bytes 10-99/100" }).end(body.subarray(10)), 5, "HUB_PROTOCOL", "Content-Range bytes 10-99/100 does not serve bytes from 5 on (from ORIGIN)"],
  ["a range past the total", (_q, s) => s.writeHead(206, { "content-range": "bytes 5-200/100" }).end(), 5, "HUB_PROTOCOL", "Content-Range bytes 5-200/100 does not serve bytes from 5 on (from ORIGIN)"],
  ["a Content-Length that disagrees with Content-Range", (_q, s) => s.writeHead(206, { "content-range": "bytes 5-99/100", "content-length": "10" }).end(body.subarray(0, 10)), 5, "HUB_PROTOCOL", "Content-Length 10 disagrees with Content-Range bytes 5-99 (from ORIGIN)"],
  ["X-Linked-Size against the range total", (_q, s) => s.writeHead(206, { "content-range": "bytes 5-99/100", "x-linked-size": "150" }).end(body.subarray(5)), 5, "HUB_SIZE", "X-Linked-Size says 150 bytes but the download says 100 (from ORIGIN)"],
  ["a size of twenty digits", (_q, s) => s.writeHead(200, { "x-linked-size": "99999999999999999999" }).end(body), 0, "HUB_PROTOCOL", 'X-Linked-Size "99999999999999999999" is not a byte count (from ORIGIN)'],
  ["a negative size", (_q, s) => s.writeHead(200, { "x-linked-size": "-5" }).end(body), 0, "HUB_PROTOCOL", 'X-Linked-Size "-5" is not a byte count (from ORIGIN)'],
  ["a chunked body with no size anywhere", (_q, s) => s.writeHead(200, { "transfer-encoding": "chunked" }).end(body), 0, "HUB_PROTOCOL", "the answer gives no size (no X-Linked-Size, no Content-Length) (from ORIGIN)"],
  ["a Content-Length above the file's size", (_q, s) => s.writeHead(200, { "x-linked-size": "50", "content-length": "100" }).end(body), 0, "HUB_SIZE", "Content-Length 100 is more than the file's 50 bytes (from ORIGIN)"],
  ["a compressed partial answer", (_q, s) => s.writeHead(206, { "content-range": "bytes 5-99/100", "content-encoding": "gzip" }).end(gzipSync(body.subarray(5))), 5, "HUB_PROTOCOL", "a compressed partial response (Content-Encoding on a 206) cannot be resumed (from ORIGIN)"],
  ["a 416 that gives no size", (_q, s) => s.writeHead(416).end(), 5, "HUB_SIZE", "the server refused bytes from 5 on (416) without giving the file's size (from ORIGIN)"],
  ["a 416 although the range is inside the file", (_q, s) => s.writeHead(416, { "content-range": "bytes */100" }).end(), 5, "HUB_PROTOCOL", "416 for bytes from 5 on, yet the file is 100 bytes (from ORIGIN)"],
  ["a redirect loop", (q, s) => s.writeHead(302, { location: q.url }).end(), 0, "HUB_PROTOCOL", "more than 10 redirects; the endpoint ORIGIN is misconfigured"],
  ["a redirect to a file: URL", (_q, s) => s.writeHead(302, { location: "file:///etc/passwd" }).end(), 0, "HUB_PROTOCOL", "a redirect from ORIGIN leads to a file: URL; only http(s) is followed"],
  ["a redirect without Location", (_q, s) => s.writeHead(302).end(), 0, "HUB_PROTOCOL", "unexpected HTTP 302 from ORIGIN"],
  ["a 400", (_q, s) => s.writeHead(400, { "x-error-code": "BadRequest" }).end(), 0, "HUB_PROTOCOL", "unexpected HTTP 400 BadRequest from ORIGIN"],
];

describe("hostile answers to a file download", () => {
  for (const [what, handler, from, code, message] of cases) {
    it(`refuses ${what} (${code})`, async () => {
      answer = handler;
      const stream = client.openFile("o/n", "main", "f.bin", { from });
      await expect(collect(stream)).rejects.toMatchObject({ code, message: `${PREFIX}${message.replaceAll("ORIGIN", origin)}` });
      expect(stream.position).toBe(from);
    });
  }

  it("takes an X-Error-Code that is not a plain word as absent", async () => {
    answer = (_q, s) => s.writeHead(404, { "x-error-code": "Entry<script>" }).end();
    await expect(collect(client.openFile("o/n", "main", "f.bin"))).rejects.toMatchObject({ code: "HUB_NOT_FOUND", message: `${PREFIX}not found on the Hub (404); check the repo id, revision and file name` });
  });
});
