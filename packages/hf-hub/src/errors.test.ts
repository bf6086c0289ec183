import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubClient } from "./hub-client.js";
import { collect, failureOf, startSeededHub, type SeededHub } from "./test-support/seeded-repo.js";

// 401/403/404 are final (no retry) and one line: repo@revision file, what the Hub said, what to do.
const REPO = "OpenAssistant/oasst-sft-6-llama-30b-xor";
let hub: SeededHub;
let client: HubClient;

beforeAll(async () => {
  hub = await startSeededHub(REPO, { "added_tokens.json": 20 });
  client = new HubClient({ endpoint: hub.server.endpoint, retryDelayMs: 1 });
});
afterAll(() => hub.close());

const failure = (repo: string, revision: string, path: string, c = client) => failureOf(collect(c.openFile(repo, revision, path)));

describe("a file that cannot be had", () => {
  it("is HUB_NOT_FOUND for a file the revision lacks", async () => {
    const error = await failure(REPO, "main", "pytorch_model-00001-of-00007.bin");
    expect(error).toMatchObject({ code: "HUB_NOT_FOUND", status: 404 });
    expect(error.message).toBe(`${REPO}@main pytorch_model-00001-of-00007.bin: file not found at this revision (404 EntryNotFound); check the file name`);
  });

  it("is HUB_NOT_FOUND for a revision the repo lacks", async () => {
    const error = await failure(REPO, "0123456789abcdef0123456789abcdef01234567", "added_tokens.json");
    expect(error.message).toBe(`${REPO}@0123456789abcdef0123456789abcdef01234567 added_tokens.json: revision not found (404 RevisionNotFound); check the commit, branch or tag`);
  });

  it("is HUB_NOT_FOUND for a repo that does not exist, anonymous (401) or not (404)", async () => {
    const anonymous = await failure("nobody/nothing", "main", "added_tokens.json");
    const withToken = await failure("nobody/nothing", "main", "added_tokens.json", new HubClient({ endpoint: hub.server.endpoint, token: "hf_x" }));
    expect([anonymous.code, withToken.code]).toEqual(["HUB_NOT_FOUND", "HUB_NOT_FOUND"]);
    expect(anonymous.message).toBe("nobody/nothing@main added_tokens.json: repo not found (401 RepoNotFound); check the repo id, or set HF_TOKEN if the repo is private");
    expect(withToken.message).toBe("nobody/nothing@main added_tokens.json: repo not found (404 RepoNotFound); check the repo id, or set HF_TOKEN if the repo is private");
  });

  it("is not retried: one request, one line", async () => {
    hub.server.clearLog();
    const error = await failure(REPO, "main", "missing.bin");
    expect(hub.server.requests).toHaveLength(1);
    expect(error.message).not.toContain("\n");
  });
});
