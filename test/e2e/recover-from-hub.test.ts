import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHubServer } from "@model-recover/hf-hub/test-server";
import { KEY_CHUNK_BYTES, xorshift32Bytes } from "@model-recover/xor-core";
import { modelRecover, modelRecoverInProcess, startModelRecover } from "../support/cli.js";
import { BIG_BYTES, BIG_FILE, folderBytes, HUB_REPO, type HubRelease, serveSmallRelease } from "../support/hub-release.js";
import { partialDir } from "../support/state.js";

const TOKEN = "hf_testTOKENthatMustNeverBePrinted";

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("recover --from-hub streams the release from a Hub on 127.0.0.1 through the engine", () => {
  let dir: string;
  let release: HubRelease;
  let env: NodeJS.ProcessEnv;
  const recover = (out: string, extra: string[] = [], moreEnv: NodeJS.ProcessEnv = {}) => modelRecover(["recover", release.recipePath, "--base", release.basePath, "--from-hub", "--out", out, ...extra], { env: { ...env, ...moreEnv } });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-hub-"));
    release = await serveSmallRelease(join(dir, "inputs"));
    env = { HF_ENDPOINT: release.server.endpoint, HF_TOKEN: "" };
  }, 120_000);
  afterAll(async () => {
    await release?.server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("recovers byte for byte what a recovery of the downloaded folder gives, and stores no .enc", async () => {
    const local = await modelRecover(["recover", release.recipePath, "--base", release.basePath, "--enc", release.encDir, "--out", join(dir, "out-local")]);
    expect(local.code, local.stderr).toBe(0);
    release.server.clearLog();
    const hub = await recover(join(dir, "out-hub"));
    expect(hub.code, hub.stderr).toBe(0);
    expect(hub.stderr).toContain(`${release.server.endpoint}/${HUB_REPO}@main`);
    expect(await folderBytes(join(dir, "out-hub"))).toEqual(await folderBytes(join(dir, "out-local")));
    expect(await folderBytes(join(dir, "out-hub"))).toEqual(await folderBytes(release.modelDir));
    expect((await readdir(join(dir, "out-hub"))).some((name) => name.endsWith(".enc"))).toBe(false);
    // Each payload came once (the probe reads the smallest file, a few bytes, once more).
    expect(release.server.bytesServed(HUB_REPO, release.bigEnc)).toBe(BIG_BYTES + 32);
    expect(release.server.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
  }, 120_000);

  it("a wrong base is found by the probe on the smallest file, before any big file is fetched", async () => {
    const wrongBase = join(dir, "wrong-base.pth");
    await writeFile(wrongBase, xorshift32Bytes(99, 3 * 1024 * 1024 + 333));
    release.server.clearLog();
    const out = join(dir, "out-wrong-base");
    const result = await modelRecover(["recover", release.recipePath, "--base", wrongBase, "--from-hub", "--out", out], { env });
    expect(result.code, result.stderr).toBe(4);
    expect(result.stderr).toMatch(/wrong-base\.pth: not the key for a small release \(decrypting (config|generation_config)\.json gave sha256/);
    expect(release.server.bytesServed(HUB_REPO, release.bigEnc)).toBe(0);
    expect(existsSync(out)).toBe(false);
  }, 120_000);

  it("a flipped byte on the wire fails the file with exit 4, blames the transfer, and leaves no file under its name", async () => {
    release.server.setFaults(HUB_REPO, release.bigEnc, { flipByteAt: 12_345_678 });
    try {
      const out = join(dir, "out-flipped");
      const result = await recover(out);
      expect(result.code, result.stderr).toBe(4);
      expect(result.stderr).toMatch(new RegExp(`FAILED ${BIG_FILE}: .*sha256 .*the transfer is at fault`));
      expect(existsSync(join(out, BIG_FILE))).toBe(false);
      expect(existsSync(join(out, "config.json"))).toBe(true);
      expect(await readdir(partialDir(out))).toEqual([]);
    } finally {
      release.server.setFaults(HUB_REPO, release.bigEnc, {});
    }
  }, 120_000);

  it("503s, a connection cut, a body cut short of its Content-Length and a 200 to a Range request are retried, and the result verifies", async () => {
    release.server.setFaults(HUB_REPO, release.bigEnc, { unavailable: 2, cutAt: [15_000_000], truncateAt: [25_000_000], ignoreRange: 1 });
    release.server.clearLog();
    try {
      const out = join(dir, "out-retried");
      const result = await recover(out);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/retrying pytorch_model\.bin\.[0-9a-f]{64}\.enc from byte 0 \(HTTP 503/);
      expect(await folderBytes(out)).toEqual(await folderBytes(release.modelDir));
      // The resume after the cut asked for a range and got the whole file (200): its first bytes were skipped, not handed out twice.
      const resumes = release.server.requests.filter((r) => r.origin === "cdn" && r.headers.range !== undefined);
      expect(resumes.map((r) => r.status)).toEqual([200, 206]);
    } finally {
      release.server.setFaults(HUB_REPO, release.bigEnc, {});
    }
  }, 120_000);

  it("a run killed mid-file resumes with a Range request and downloads only the missing bytes and at most one chunk more", async () => {
    const out = join(dir, "out-killed");
    // The transfer stalls at 25 MB: by then 20 MiB are durable (a resume point every 10 MB).
    release.server.setFaults(HUB_REPO, release.bigEnc, { stallAt: { offset: 25_000_000, ms: 120_000 } });
    const checkpointEnv = { MODEL_RECOVER_CHECKPOINT_MB: "10" };
    const first = startModelRecover(["recover", release.recipePath, "--base", release.basePath, "--from-hub", "--out", out], { env: { ...env, ...checkpointEnv } });
    const records = async () => (await readdir(partialDir(out)).catch(() => [])).filter((name) => name.endsWith(".json"));
    const durable = async () => {
      for (const name of await records()) {
        const record = JSON.parse(await readFile(join(partialDir(out), name), "utf8"));
        if (record.durableBytes >= 2 * KEY_CHUNK_BYTES) return true;
      }
      return false;
    };
    await until(durable, 90_000);
    first.child.kill("SIGKILL");
    expect((await first.done).signal).toBe("SIGKILL");
    release.server.clearLog();
    const second = await modelRecover(["recover", release.recipePath, "--base", release.basePath, "--from-hub", "--out", out], { env: { ...env, ...checkpointEnv } });
    expect(second.code, second.stderr).toBe(0);
    const resumed = Number(/resuming pytorch_model\.bin from .*\((\d+) bytes; rehashing/.exec(second.stderr)?.[1]);
    expect(resumed).toBe(2 * KEY_CHUNK_BYTES);
    const served = release.server.bytesServed(HUB_REPO, release.bigEnc);
    const missing = BIG_BYTES + 32 - (32 + resumed);
    expect(served).toBeGreaterThanOrEqual(missing);
    expect(served).toBeLessThanOrEqual(missing + KEY_CHUNK_BYTES);
    const ranges = release.server.requests.filter((r) => r.origin === "cdn").map((r) => r.headers.range);
    expect(ranges).toEqual([`bytes=${32 + resumed}-`]);
    expect(await folderBytes(out)).toEqual(await folderBytes(release.modelDir));
    expect(await readdir(partialDir(out))).toEqual([]);
  }, 180_000);

  it("a Hub that goes away mid-file fails that file with exit 4 once the retries are spent, and the next run continues it", async () => {
    const out = join(dir, "out-outage");
    release.server.setFaults(HUB_REPO, release.bigEnc, { stallAt: { offset: 25_000_000, ms: 120_000 } });
    const checkpointEnv = { MODEL_RECOVER_CHECKPOINT_MB: "10" };
    const run = startModelRecover(["recover", release.recipePath, "--base", release.basePath, "--from-hub", "--out", out], { env: { ...env, ...checkpointEnv } });
    const durable = async () => {
      for (const name of (await readdir(partialDir(out)).catch(() => [])).filter((n) => n.endsWith(".json"))) {
        if (JSON.parse(await readFile(join(partialDir(out), name), "utf8")).durableBytes >= 2 * KEY_CHUNK_BYTES) return true;
      }
      return false;
    };
    await until(durable, 90_000);
    await release.server.close();
    const failed = await run.done;
    expect(failed.code, failed.stderr).toBe(4);
    expect(failed.stderr).toMatch(/FAILED pytorch_model\.bin: .*download failed \d+ times in a row.*run the same command again: the file continues from its last durable point/);
    expect(existsSync(join(out, BIG_FILE))).toBe(false);
    release.server = await startHubServer({ repos: { [HUB_REPO]: { dir: release.encDir } }, lfsMinBytes: 1 << 20 });
    const again = await modelRecover(["recover", release.recipePath, "--base", release.basePath, "--from-hub", "--out", out], { env: { ...env, HF_ENDPOINT: release.server.endpoint } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`resuming ${BIG_FILE} from`);
    expect(release.server.bytesServed(HUB_REPO, release.bigEnc)).toBeLessThanOrEqual(BIG_BYTES - 2 * KEY_CHUNK_BYTES + KEY_CHUNK_BYTES);
    expect(await folderBytes(out)).toEqual(await folderBytes(release.modelDir));
  }, 180_000);
});

describe("recover --from-hub: usage", () => {
  it("refuses, in one line and before printing or fetching anything, a recipe with no repo, a branch as --revision, --enc with it, and its flags without it", async () => {
    const cases: [string[], RegExp][] = [
      [["recover", "demo", "--from-hub", "--base", "b"], /^model-recover: demo names no Hugging Face repo \("hub" in manifests\/demo\.json\); add one/],
      [["recover", "belle-13b-2m", "--from-hub", "--revision", "main", "--base", "b"], /^model-recover: --revision main: expected a commit sha \(40 hex digits\)/],
      [["recover", "belle-13b-2m", "--from-hub", "--enc", "e", "--base", "b"], /^model-recover: --from-hub reads the release from the Hub; leave out --enc/],
      [["recover", "belle-13b-2m", "--keep-enc", "k", "--base", "b"], /^model-recover: --keep-enc goes with --from-hub/],
      // A delta chained on a conversion: refused before the conversion would look at --base.
      [["recover", "vicuna-7b-v1.1", "--from-hub", "--base", "b"], /^model-recover: --from-hub: vicuna-7b-v1\.1 is an additive delta, and the Hub flags stream XOR releases; download the folder it reads and pass it with --enc/],
      [["recover", "llama-30b-hf", "--revision", "0".repeat(40), "--base", "b"], /^model-recover: --revision: llama-30b-hf is a conversion, and the Hub flags stream XOR releases; download the folder it reads and pass it with --base/],
      [["recover", "alpaca-7b", "--to", "safetensors", "--keep-bin", "--base", "b"], /^model-recover: --keep-bin: alpaca-7b is an additive delta; it writes either \.bin \(--to bin\) or safetensors \(--to safetensors\)/],
    ];
    for (const [args, message] of cases) {
      const run = await modelRecoverInProcess(args);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});

describe("recover --from-hub on a gated repo", () => {
  let dir: string;
  let release: HubRelease;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-hub-gated-"));
    release = await serveSmallRelease(join(dir, "inputs"), { tokens: [TOKEN] });
  }, 120_000);
  afterAll(async () => {
    await release?.server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("without a token: one line that says to accept the licence and set HF_TOKEN, exit 4, nothing written", async () => {
    const out = join(dir, "out-anonymous");
    const result = await modelRecover(["recover", release.recipePath, "--base", release.basePath, "--from-hub", "--out", out], { env: { HF_ENDPOINT: release.server.endpoint, HF_TOKEN: "" } });
    expect(result.code, result.stderr).toBe(4);
    const errors = result.stderr.split("\n").filter((line) => line.startsWith("model-recover:"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/accept the licence on the Hub and set HF_TOKEN/);
    expect(existsSync(out)).toBe(false);
  });

  it("with HF_TOKEN: recovers; the token reaches the Hub's host only and is never printed", async () => {
    const out = join(dir, "out-token");
    release.server.clearLog();
    const result = await modelRecover(["recover", release.recipePath, "--base", release.basePath, "--from-hub", "--out", out], { env: { HF_ENDPOINT: release.server.endpoint, HF_TOKEN: TOKEN } });
    expect(result.code, result.stderr).toBe(0);
    expect(await folderBytes(out)).toEqual(await folderBytes(release.modelDir));
    expect(`${result.stdout}${result.stderr}`).not.toContain(TOKEN);
    expect(`${result.stdout}${result.stderr}`).not.toContain("testTOKEN");
    const requests = release.server.requests;
    expect(requests.filter((r) => r.origin === "hub").every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(requests.filter((r) => r.origin === "cdn").length).toBeGreaterThan(0);
    expect(requests.filter((r) => r.origin === "cdn").every((r) => r.headers.authorization === undefined)).toBe(true);
    for (const name of await readdir(out, { recursive: true })) {
      const path = join(out, String(name));
      if ((await stat(path)).isFile()) expect((await readFile(path)).includes(Buffer.from(TOKEN))).toBe(false);
    }
  }, 120_000);
});
