import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startSeededHub, type SeededHub } from "./test-support/seeded-repo.js";

// The proof: a download killed with SIGKILL mid-file resumes with a Range request from
// what reached the disk, and the server sends no more than the missing bytes plus one chunk.
const REPO = "BelleGroup/BELLE-LLaMA-13B-2M-enc";
const SHARD = "pytorch_model-00001-of-00003.bin.enc";
const SIZE = 6 * 1024 * 1024 + 32;
/** What the test server writes at a time (file-body.ts): the most a killed run can have in flight. */
const SERVER_CHUNK = 1024 * 1024;
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const script = fileURLToPath(new URL("./test-support/download-to-file.ts", import.meta.url));
let hub: SeededHub;

beforeAll(async () => {
  hub = await startSeededHub(REPO, { [SHARD]: SIZE });
});
afterAll(() => hub.close());

function startDownload(out: string) {
  const env = { ...process.env, HF_ENDPOINT: hub.server.endpoint, HF_TOKEN: "" };
  return spawn(process.execPath, ["--conditions=source", "--import", "tsx", script, REPO, "main", SHARD, out], { cwd: repoRoot, env, stdio: ["ignore", "ignore", "pipe"] });
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => ({ size: 0 }))).size;
}

it("resumes a download killed with SIGKILL mid-file from the bytes on disk, fetching only what is missing", async () => {
  const scratch = await mkdtemp(join(tmpdir(), "hf-hub-kill-"));
  const out = join(scratch, `${SHARD}.part`);
  // The server stalls part-way, so the kill lands mid-file, not at the end.
  const stallAt = 2 * SERVER_CHUNK + 12_345;
  hub.server.setFaults(REPO, SHARD, { stallAt: { offset: stallAt, ms: 3000 } });
  const first = startDownload(out);
  const killedBy = new Promise((resolve) => first.on("exit", (_code, signal) => resolve(signal)));
  while ((await sizeOf(out)) < stallAt) await new Promise((resolve) => setTimeout(resolve, 20));
  first.kill("SIGKILL");
  expect(await killedBy).toBe("SIGKILL");
  const durable = await sizeOf(out);
  expect(durable).toBe(stallAt);
  const firstRun = hub.server.requests.filter((r) => r.origin === "cdn").reduce((sum, r) => sum + r.bodyBytes, 0);
  hub.server.clearLog();

  const second = startDownload(out);
  let stderr = "";
  second.stderr.on("data", (data) => (stderr += data));
  expect(await new Promise((resolve) => second.on("exit", resolve))).toBe(0);
  expect(stderr).toBe("");

  const whole = await readFile(out);
  expect(createHash("sha256").update(whole).digest("hex")).toBe(createHash("sha256").update(hub.content.get(SHARD)!).digest("hex"));
  const resumed = hub.server.requests.filter((r) => r.origin === "cdn");
  expect(resumed.map((r) => [r.headers.range, r.status, r.bodyBytes])).toEqual([[`bytes=${durable}-`, 206, SIZE - durable]]);
  expect(firstRun - durable).toBeLessThanOrEqual(SERVER_CHUNK);
  await rm(scratch, { recursive: true, force: true });
});
