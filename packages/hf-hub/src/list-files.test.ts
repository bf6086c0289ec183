import { execFileSync } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HubClient } from "./hub-client.js";
import { startSeededHub, type SeededHub } from "./test-support/seeded-repo.js";

const REPO = "BelleGroup/BELLE-LLaMA-7B-2M-enc";
const FILES = {
  "config.json.enc": 618,
  "generation_config.json.enc": 169,
  "pytorch_model-00001-of-00002.bin.enc": 200_000,
  "tokenizer.model.enc": 70_000,
  "nested/dir/special_tokens_map.json.enc": 35,
};
let hub: SeededHub;
let client: HubClient;

beforeAll(async () => {
  hub = await startSeededHub(REPO, FILES, { treePageSize: 2 });
  client = new HubClient({ endpoint: hub.server.endpoint, retryDelayMs: 1 });
});
afterAll(() => hub.close());
beforeEach(() => hub.server.clearLog());

/** What the real tools say: git's blob id, and sha256sum. */
const gitHashObject = (path: string) => execFileSync("git", ["hash-object", "--no-filters", path], { encoding: "utf8" }).trim();
const gitHashOfText = (text: string) => execFileSync("git", ["hash-object", "--stdin"], { input: text, encoding: "utf8" }).trim();
const sha256sum = (path: string) => execFileSync("sha256sum", [path], { encoding: "utf8" }).slice(0, 64);

describe("listFiles", () => {
  it("lists every file with its size, git oid and, for LFS files, the sha256 sha256sum computes", async () => {
    const files = await client.listFiles(REPO, "main");
    expect(files.map((f) => f.path).sort()).toEqual(Object.keys(FILES).sort());
    for (const file of files) {
      const onDisk = join(hub.dir, file.path);
      expect(file.size).toBe(FILES[file.path as keyof typeof FILES]);
      if (file.size < 64 * 1024) {
        expect(file).toEqual({ path: file.path, size: file.size, gitOid: gitHashObject(onDisk) });
      } else {
        const sha256 = sha256sum(onDisk);
        expect(file.lfs).toEqual({ sha256, size: file.size });
        // An LFS file's git oid is its pointer's (git-lfs spec v1).
        expect(file.gitOid).toBe(gitHashOfText(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${file.size}\n`));
      }
    }
  });

  it("follows the tree API's Link pages (two entries a page here) through @huggingface/hub", async () => {
    await client.listFiles(REPO, "main");
    const pages = hub.server.requests.filter((r) => r.url.includes("/tree/"));
    expect(pages.length).toBe(4); // 5 files and 2 folders, 2 a page
    expect(pages[1]!.url).toContain("cursor=2");
  });

  it("lists at a commit, and encodes a revision with a slash", async () => {
    expect(await client.listFiles(REPO, hub.server.commit(REPO))).toHaveLength(5);
    await expect(client.listFiles(REPO, "refs/pr/1")).rejects.toMatchObject({ code: "HUB_NOT_FOUND", message: `${REPO}@refs/pr/1: revision not found (404 RevisionNotFound); check the commit, branch or tag` });
    expect(hub.server.requests.at(-1)!.url).toContain("/tree/refs%2Fpr%2F1?");
  });

  it("is HUB_NOT_FOUND for a repo that does not exist (the Hub answers 401 to an anonymous caller)", async () => {
    await expect(client.listFiles("nobody/nothing", "main")).rejects.toMatchObject({
      code: "HUB_NOT_FOUND",
      status: 401,
      message: "nobody/nothing@main: repo not found (401 RepoNotFound); check the repo id, or set HF_TOKEN if the repo is private",
    });
  });
});

describe("pathsInfo", () => {
  it("describes the named files in the order asked", async () => {
    const paths = ["tokenizer.model.enc", "config.json.enc"];
    const files = await client.pathsInfo(REPO, "main", paths);
    expect(files.map((f) => [f.path, f.size, f.lfs !== undefined])).toEqual([
      ["tokenizer.model.enc", 70_000, true],
      ["config.json.enc", 618, false],
    ]);
    expect(hub.server.requests.map((r) => [r.method, r.url])).toEqual([["POST", `/api/models/${REPO}/paths-info/main`]]);
  });

  it("is HUB_NOT_FOUND naming the first file the Hub does not have", async () => {
    await expect(client.pathsInfo(REPO, "main", ["config.json.enc", "added_tokens.json"])).rejects.toMatchObject({
      code: "HUB_NOT_FOUND",
      message: `${REPO}@main added_tokens.json: file not found at this revision (paths-info lists no such file); check the file name`,
    });
  });
});

describe("names are checked before they become URLs (HUB_NAME)", () => {
  const cases: [string, () => unknown, string][] = [
    ["a repo id with three parts", () => client.listFiles("a/b/c", "main"), 'repo id "a/b/c" is not "owner/name" of letters, digits, "-", "_" and "."'],
    ["a revision that climbs", () => client.listFiles(REPO, ".."), 'revision ".." is not a branch, tag or commit name'],
    ["a path that climbs", () => client.openFile(REPO, "main", "../../etc/passwd"), 'file path "../../etc/passwd" is not a plain path inside the repo (no leading "/", no "." or ".." parts)'],
    ["an absolute path", () => client.pathsInfo(REPO, "main", ["/etc/passwd"]), 'file path "/etc/passwd" is not a plain path inside the repo (no leading "/", no "." or ".." parts)'],
    ["a path with a line break", () => client.openFile(REPO, "main", "a\r\nb"), 'file path "a\\r\\nb" is not a plain path inside the repo (no leading "/", no "." or ".." parts)'],
  ];
  for (const [what, call, message] of cases) {
    it(`refuses ${what}`, async () => {
      await expect((async () => call())()).rejects.toMatchObject({ code: "HUB_NAME", message });
    });
  }
});

describe("hostile or broken listing servers", () => {
  let server: Server;
  let answer: (req: IncomingMessage, res: ServerResponse) => void;
  let hostile: HubClient;
  beforeAll(async () => {
    server = createServer((req, res) => answer(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    hostile = new HubClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, retryDelayMs: 1, retries: 2 });
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  const json = (body: unknown) => (_req: IncomingMessage, res: ServerResponse) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  const file = { type: "file", oid: "a".repeat(40), size: 10, path: "config.json" };

  const cases: [string, unknown, string][] = [
    ["a path that climbs out of the repo", [{ ...file, path: "../../.ssh/id_rsa" }], 'the listing\'s "../../.ssh/id_rsa": is not a plain path inside the repo'],
    ["a size that is not a safe integer", [{ ...file, size: 2 ** 60 }], 'the listing\'s "config.json": size 1152921504606847000 is not a byte count'],
    ["a negative size", [{ ...file, size: -1 }], 'the listing\'s "config.json": size -1 is not a byte count'],
    ["a size given as text", [{ ...file, size: "10" }], 'the listing\'s "config.json": size "10" is not a byte count'],
    ["an LFS oid that is not a sha256", [{ ...file, lfs: { oid: "sha256:abc", size: 10 } }], 'the listing\'s "config.json": LFS oid is not a sha256 (64 hex digits)'],
    ["an LFS size that differs from the file size", [{ ...file, lfs: { oid: "b".repeat(64), size: 11 } }], 'the listing\'s "config.json": LFS size 11 differs from the file size 10'],
    ["a missing git oid", [{ ...file, oid: undefined }], 'the listing\'s "config.json": has no git oid (40 hex digits)'],
    ["an object where a list belongs", { files: [] }, "the Hub's answer is not the JSON listing expected"],
  ];
  for (const [what, body, message] of cases) {
    it(`refuses ${what} (HUB_PROTOCOL)`, async () => {
      answer = json(body);
      await expect(hostile.listFiles("any/repo", "main")).rejects.toMatchObject({ code: "HUB_PROTOCOL", message: expect.stringContaining(message) });
    });
  }

  it("refuses text that is not JSON (HUB_PROTOCOL)", async () => {
    answer = (_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("<html>maintenance</html>");
    await expect(hostile.listFiles("any/repo", "main")).rejects.toMatchObject({ code: "HUB_PROTOCOL" });
  });

  it("stops a server that pages forever after 1000 pages (HUB_PROTOCOL)", async () => {
    let pages = 0;
    answer = (req, res) => {
      pages++;
      res.writeHead(200, { "content-type": "application/json", link: `<http://${req.headers.host}/next?page=${pages}>; rel="next"` }).end("[]");
    };
    await expect(hostile.listFiles("any/repo", "main")).rejects.toMatchObject({ code: "HUB_PROTOCOL", message: "any/repo@main: the listing went on past 1000 pages; the endpoint is misbehaving" });
    expect(pages).toBe(1000);
  });

  it("stops reading an API answer past 16 MiB (HUB_PROTOCOL)", async () => {
    answer = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`[${" ".repeat(17 * 1024 * 1024)}`);
      res.end("]");
    };
    await expect(hostile.listFiles("any/repo", "main")).rejects.toMatchObject({ code: "HUB_PROTOCOL", message: expect.stringContaining("is over 16777216 bytes") });
  });

  it("retries a 503 on the API and then reads the listing", async () => {
    let calls = 0;
    answer = (req, res) => (++calls === 1 ? res.writeHead(503).end() : json([file])(req, res));
    expect(await hostile.listFiles("any/repo", "main")).toEqual([{ path: "config.json", size: 10, gitOid: "a".repeat(40) }]);
    expect(calls).toBe(2);
  });

  it("gives up with HUB_TRANSFER when the API keeps failing", async () => {
    answer = (_req, res) => res.writeHead(502).end();
    await expect(hostile.listFiles("any/repo", "main")).rejects.toMatchObject({
      code: "HUB_TRANSFER",
      message: expect.stringMatching(/^any\/repo@main: the Hub API failed 3 times in a row \(last: HTTP 502 from http:\/\/127\.0\.0\.1:\d+\); check the network and run again$/),
    });
  });
});
