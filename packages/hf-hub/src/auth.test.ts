import { inspect } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_ENDPOINT } from "./endpoint.js";
import type { HubStreamEvent } from "./stream-options.js";
import { HubClient } from "./hub-client.js";
import { collect, failureOf, startSeededHub, type SeededHub } from "./test-support/seeded-repo.js";

// The token rule (see mayCarryToken): Authorization goes to the endpoint's origin only, over HTTPS
// or to a loopback host; never to the CDN an LFS file redirects to; and it is never printed.
const TOKEN = "hf_TestTokenThatMustNeverBePrinted0123";
const GATED = "meta-llama/Llama-2-7b-hf";
const PUBLIC = "BelleGroup/BELLE-public";
const SHARD = "pytorch_model-00001-of-00002.bin";
const SMALL = "config.json";
let hub: SeededHub;

beforeAll(async () => {
  hub = await startSeededHub(GATED, { [SHARD]: 300_000, [SMALL]: 600 }, { tokens: [TOKEN], extraRepos: { [PUBLIC]: {} }, renamed: { "meta-llama/old-name": GATED } });
});
afterAll(() => hub.close());
beforeEach(() => hub.server.clearLog());

const authorizations = () => hub.server.requests.map((r) => [r.origin, r.headers.authorization]);

describe("where the token goes", () => {
  it("reaches the endpoint for the resolve request but never the CDN that serves the LFS file", async () => {
    const client = new HubClient({ endpoint: hub.server.endpoint, token: TOKEN });
    const bytes = await collect(client.openFile(GATED, "main", SHARD));
    expect(bytes.length).toBe(300_000);
    expect(authorizations()).toEqual([
      ["hub", `Bearer ${TOKEN}`],
      ["cdn", undefined],
    ]);
  });

  it("stays with a relative redirect inside the endpoint (a renamed repo), as huggingface_hub does", async () => {
    const client = new HubClient({ endpoint: hub.server.endpoint, token: TOKEN });
    await collect(client.openFile("meta-llama/old-name", "main", SMALL));
    expect(hub.server.requests.map((r) => [r.status, r.headers.authorization])).toEqual([
      [307, `Bearer ${TOKEN}`],
      [200, `Bearer ${TOKEN}`],
    ]);
  });

  it("goes with the listing and paths-info requests, which @huggingface/hub makes through our fetch", async () => {
    const client = new HubClient({ endpoint: hub.server.endpoint, token: TOKEN });
    expect((await client.listFiles(GATED, "main")).map((f) => f.path).sort()).toEqual([SMALL, SHARD]);
    expect((await client.pathsInfo(GATED, "main", [SMALL])).map((f) => f.path)).toEqual([SMALL]);
    expect(authorizations()).toEqual([
      ["hub", `Bearer ${TOKEN}`],
      ["hub", `Bearer ${TOKEN}`],
    ]);
  });

  it("is sent over https:// and to loopback http://, and withheld from a plain-http mirror", async () => {
    const seen: (string | null)[] = [];
    const recordingFetch = (async (_url: URL, init: RequestInit) => {
      seen.push(new Headers(init.headers).get("authorization"));
      return new Response("{}", { status: 401, headers: { "x-error-code": "GatedRepo" } });
    }) as unknown as typeof fetch;
    const attempt = (endpoint: string) => failureOf(collect(new HubClient({ endpoint, token: TOKEN, fetch: recordingFetch }).openFile(GATED, "main", SMALL)));
    const overHttps = await attempt("https://hf-mirror.example");
    const overHttp = await attempt("http://hf-mirror.example");
    expect(seen).toEqual([`Bearer ${TOKEN}`, null]);
    expect(overHttps.message).toContain("the token was refused");
    expect(overHttp.message).toBe(`${GATED}@main ${SMALL}: access denied (401 GatedRepo): the token is only sent over HTTPS and http://hf-mirror.example is plain HTTP; use an https:// HF_ENDPOINT`);
  });
});

describe("gated repos", () => {
  it("without a token: HUB_GATED, one line saying to accept the licence and set HF_TOKEN", async () => {
    const client = new HubClient({ endpoint: hub.server.endpoint });
    await expect(collect(client.openFile(GATED, "main", SHARD))).rejects.toMatchObject({
      code: "HUB_GATED",
      status: 401,
      message: `${GATED}@main ${SHARD}: access denied (401 GatedRepo): the repo is gated or private; accept the licence on the Hub and set HF_TOKEN (or --token-file)`,
    });
  });

  it("with a token the Hub refuses: HUB_GATED 403, naming the token's account, not the token", async () => {
    const client = new HubClient({ endpoint: hub.server.endpoint, token: "hf_SomeoneElsesToken" });
    await expect(collect(client.openFile(GATED, "main", SHARD))).rejects.toMatchObject({
      code: "HUB_GATED",
      status: 403,
      message: `${GATED}@main ${SHARD}: access denied (403 GatedRepo): the token was refused; accept the licence on the Hub with the token's account, or check HF_TOKEN`,
    });
  });

  it("a listing without a token is HUB_GATED too, naming repo and revision", async () => {
    const client = new HubClient({ endpoint: hub.server.endpoint });
    await expect(client.listFiles(GATED, "main")).rejects.toMatchObject({ code: "HUB_GATED", message: expect.stringMatching(new RegExp(`^${GATED}@main: access denied \\(401 GatedRepo\\)`)) });
  });
});

describe("HF_ENDPOINT and HF_TOKEN", () => {
  it("takes an empty token for none, and refuses one a header cannot carry (HUB_TOKEN)", () => {
    expect(new HubClient({ endpoint: hub.server.endpoint, token: "" }).hasToken).toBe(false);
    expect(() => new HubClient({ endpoint: hub.server.endpoint, token: "hf_a b" })).toThrow(expect.objectContaining({ code: "HUB_TOKEN", message: "the token holds spaces or characters outside visible ASCII; it cannot be sent in a header" }));
  });

  it("fromEnvironment takes the endpoint from HF_ENDPOINT and the token from HF_TOKEN", async () => {
    const client = await HubClient.fromEnvironment({ env: { HF_ENDPOINT: `${hub.server.endpoint}/`, HF_TOKEN: `${TOKEN}\n` } });
    expect(client.endpoint.origin).toBe(hub.server.endpoint);
    expect((await collect(client.openFile(GATED, "main", SMALL))).length).toBe(600);
    expect(authorizations()).toEqual([["hub", `Bearer ${TOKEN}`]]);
  });

  it("defaults to https://huggingface.co without HF_ENDPOINT, and to no token without HF_TOKEN", async () => {
    const client = await HubClient.fromEnvironment({ env: {} });
    expect(client.endpoint.href).toBe(`${DEFAULT_ENDPOINT}/`);
    expect(client.hasToken).toBe(false);
  });
});

describe("the token is never printed", () => {
  it("appears in no error, event or inspected object of a download that meets cuts, refusals and retries", async () => {
    hub.server.setFaults(GATED, SHARD, { cutAt: [50_000], unavailable: 1 });
    const events: HubStreamEvent[] = [];
    const client = new HubClient({ endpoint: hub.server.endpoint, token: TOKEN, retryDelayMs: 1 });
    const stream = client.openFile(GATED, "main", SHARD, { onEvent: (e) => events.push(e) });
    await collect(stream);
    const failures = await Promise.all([
      failureOf(collect(client.openFile(GATED, "main", "missing.bin"))),
      failureOf(collect(new HubClient({ endpoint: hub.server.endpoint, token: TOKEN, retries: 0 }).openFile("nobody/nothing", "main", SMALL))),
      failureOf(client.listFiles(GATED, "no-such-branch")),
    ]);
    expect(events.length).toBe(2);
    expect(failures.map((e) => e.code)).toEqual(["HUB_NOT_FOUND", "HUB_NOT_FOUND", "HUB_NOT_FOUND"]);
    const printed = [
      ...failures.flatMap((e) => [String(e), e.stack, JSON.stringify(e), inspect(e, { depth: 9, showHidden: true })]),
      JSON.stringify(events),
      inspect(client, { depth: 9, showHidden: true }),
      inspect(stream, { depth: 9, showHidden: true }),
    ].join("\n");
    expect(printed).not.toContain(TOKEN);
    expect(printed).not.toContain(TOKEN.slice(3, 20));
  });
});
