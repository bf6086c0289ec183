import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { modelRecover, modelRecoverInProcess, pnpmScript, startModelRecover } from "../support/cli.js";
import { BIG_BYTES, folderBytes, HUB_REPO, type HubRelease, serveSmallRelease } from "../support/hub-release.js";

const TOKEN = "hf_downloadTokenNeverShown";

/** The release's `.enc` files by sha256 (pack's md5 lists beside them are not downloaded). */
async function encFiles(release: HubRelease): Promise<Record<string, string>> {
  return Object.fromEntries(Object.entries(await folderBytes(release.encDir)).filter(([name]) => name.endsWith(".enc")));
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("model-recover download: the release on disk, verified and resumable", () => {
  let dir: string;
  let release: HubRelease;
  let env: NodeJS.ProcessEnv;
  let tokenFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-download-"));
    release = await serveSmallRelease(join(dir, "inputs"), { tokens: [TOKEN] });
    env = { HF_ENDPOINT: release.server.endpoint, HF_TOKEN: "" };
    tokenFile = join(dir, "token");
    await writeFile(tokenFile, `${TOKEN}\n`);
  }, 120_000);
  afterAll(async () => {
    await release?.server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("downloads the files the recipe needs, the same bytes as the release, and recover --enc reads the folder", async () => {
    const to = join(dir, "downloaded");
    const result = await modelRecover(["download", release.recipePath, "--to", to, "--token-file", tokenFile], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(`${result.stdout}${result.stderr}`).not.toContain(TOKEN);
    expect((await readdir(to)).filter((name) => name !== ".model-recover-download").sort()).toEqual((await readdir(release.encDir)).filter((name) => name.endsWith(".enc")).sort());
    expect(await folderBytes(to)).toEqual(await encFiles(release));
    expect(await readdir(join(to, ".model-recover-download"))).toEqual([]);
    const out = join(dir, "out-from-download");
    const recovered = await modelRecover(["recover", release.recipePath, "--base", release.basePath, "--enc", to, "--out", out]);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(await folderBytes(out)).toEqual(await folderBytes(release.modelDir));
    // A second run checks what is there and downloads nothing.
    release.server.clearLog();
    const again = await modelRecover(["download", release.recipePath, "--to", to, "--token-file", tokenFile], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already here, verified/);
    expect(release.server.bytesServed(HUB_REPO, release.bigEnc)).toBe(0);
  }, 120_000);

  it("a flipped byte on the wire: exit 4, the transfer blamed, no file under the release's name", async () => {
    release.server.setFaults(HUB_REPO, release.bigEnc, { flipByteAt: 30_000_000 });
    try {
      const to = join(dir, "downloaded-flipped");
      const result = await modelRecover(["download", release.recipePath, "--to", to], { env: { ...env, HF_TOKEN: TOKEN } });
      expect(result.code, result.stderr).toBe(4);
      expect(result.stderr).toMatch(/sha256 .*the transfer is at fault/);
      expect(existsSync(join(to, release.bigEnc))).toBe(false);
      expect(await readdir(join(to, ".model-recover-download"))).toEqual([]);
    } finally {
      release.server.setFaults(HUB_REPO, release.bigEnc, {});
    }
  }, 120_000);

  it("Ctrl-C stops a stalled download at once with exit 130, keeping its bytes to resume", async () => {
    const to = join(dir, "downloaded-interrupted");
    release.server.setFaults(HUB_REPO, release.bigEnc, { stallAt: { offset: 10_000_000, ms: 120_000 } });
    try {
      const run = startModelRecover(["download", release.recipePath, "--to", to], { env: { ...env, HF_TOKEN: TOKEN } });
      const parts = join(to, ".model-recover-download");
      const partBytes = async () => {
        const names = (await readdir(parts).catch(() => [])).filter((name) => name.endsWith(".part"));
        return Math.max(0, ...(await Promise.all(names.map((name) => stat(join(parts, name)).then((s) => s.size, () => 0)))));
      };
      await until(async () => (await partBytes()) >= 8_000_000, 90_000);
      run.child.kill("SIGINT");
      const result = await run.done;
      expect(result.code, result.stderr).toBe(130);
      expect(result.stderr.trim().split("\n").at(-1)).toBe(`model-recover: interrupted; ${release.bigEnc} will continue where they stopped: run the same command again to resume`);
      expect(await partBytes()).toBeGreaterThanOrEqual(8_000_000);
      expect(existsSync(join(to, release.bigEnc))).toBe(false);
    } finally {
      release.server.setFaults(HUB_REPO, release.bigEnc, {});
    }
  }, 120_000);

  it("a download killed mid-file continues from the bytes on disk with a Range request", async () => {
    const to = join(dir, "downloaded-killed");
    release.server.setFaults(HUB_REPO, release.bigEnc, { stallAt: { offset: 20_000_000, ms: 120_000 } });
    const first = startModelRecover(["download", release.recipePath, "--to", to], { env: { ...env, HF_TOKEN: TOKEN } });
    const partSize = async () => {
      const parts = (await readdir(join(to, ".model-recover-download")).catch(() => [])).filter((name) => name.endsWith(".part"));
      const sizes = await Promise.all(parts.map((name) => stat(join(to, ".model-recover-download", name)).then((s) => s.size, () => 0)));
      return Math.max(0, ...sizes);
    };
    await until(async () => (await partSize()) >= 16_000_000, 90_000);
    first.child.kill("SIGKILL");
    await first.done;
    const kept = await partSize();
    release.server.clearLog();
    const second = await modelRecover(["download", release.recipePath, "--to", to], { env: { ...env, HF_TOKEN: TOKEN } });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`continuing the download of ${release.bigEnc} from byte ${kept}`);
    expect(release.server.bytesServed(HUB_REPO, release.bigEnc)).toBe(BIG_BYTES + 32 - kept);
    expect(await folderBytes(to)).toEqual(await encFiles(release));
  }, 180_000);

  it("recover --from-hub --keep-enc checks the base before it downloads anything big", async () => {
    const wrongBase = join(dir, "wrong-base.pth");
    await writeFile(wrongBase, xorshift32Bytes(98, 3 * 1024 * 1024 + 333));
    release.server.clearLog();
    const kept = join(dir, "kept-wrong-base");
    const result = await modelRecover(["recover", release.recipePath, "--base", wrongBase, "--from-hub", "--keep-enc", kept, "--out", join(dir, "out-wrong-base")], { env: { ...env, HF_TOKEN: TOKEN } });
    expect(result.code, result.stderr).toBe(4);
    expect(result.stderr).toMatch(/wrong-base\.pth: not the key for a small release/);
    expect(release.server.bytesServed(HUB_REPO, release.bigEnc)).toBe(0);
    expect(existsSync(kept)).toBe(false);
  }, 120_000);

  it("recover --from-hub --keep-enc refuses a folder that holds the base or is the output, before downloading into it", async () => {
    const baseFolder = dirname(release.basePath);
    const before = await folderBytes(baseFolder);
    const out = join(dir, "out-overlap");
    const cases: [string, string][] = [
      [baseFolder, `${baseFolder}: the release folder (--keep-enc) contains the base (--base) ${release.basePath}`],
      [out, `${out}: the release folder (--keep-enc) is the same as the output folder (--out) ${out}`],
    ];
    release.server.clearLog();
    for (const [kept, message] of cases) {
      const result = await modelRecover(["recover", release.recipePath, "--base", release.basePath, "--from-hub", "--keep-enc", kept, "--out", out], { env: { ...env, HF_TOKEN: TOKEN } });
      expect(result.code, result.stderr).toBe(4);
      expect(result.stderr.trim().split("\n").at(-1)).toBe(`model-recover: ${message}; pass an output apart from every input, so that nothing of yours is overwritten or removed`);
    }
    expect(release.server.bytesServed(HUB_REPO, release.bigEnc)).toBe(0);
    expect(await folderBytes(baseFolder)).toEqual(before);
    expect(existsSync(out)).toBe(false);
  }, 120_000);

  it("pnpm recover --from-hub --keep-enc goes around turbo's cache, keeps the verified .enc files and recovers", async () => {
    const out = join(dir, "out-pnpm");
    const kept = join(dir, "kept");
    const result = await pnpmScript(["recover", release.recipePath, "--base", release.basePath, "--from-hub", "--keep-enc", kept, "--out", out], { env: { ...env, HF_TOKEN: TOKEN } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/turbo cache hit/);
    expect(`${result.stdout}${result.stderr}`).not.toContain(TOKEN);
    expect(await folderBytes(out)).toEqual(await folderBytes(release.modelDir));
    expect((await readdir(kept)).filter((name) => name !== ".model-recover-download").sort()).toEqual((await readdir(release.encDir)).filter((name) => name.endsWith(".enc")).sort());
  }, 180_000);
});

describe("model-recover download: usage", () => {
  it("refuses a tensor recipe in one line that says which it is: an additive delta (fetch its folder, --enc) or a conversion (--base)", async () => {
    const to = join(tmpdir(), "mr-download-never-made");
    const cases: [string, string][] = [
      ["vicuna-7b-v1.1", "vicuna-7b-v1.1 is an additive delta (add-delta), not an XOR release, and download fetches XOR releases only; fetch the delta folder (https://huggingface.co/lmsys/vicuna-7b-delta-v1.1) yourself and pass it to recover with --enc"],
      ["alpaca-7b", "alpaca-7b is an additive delta (weight-diff), not an XOR release, and download fetches XOR releases only; fetch the delta folder (https://huggingface.co/tatsu-lab/alpaca-7b-wdiff) yourself and pass it to recover with --enc"],
      ["llama-30b-hf", "llama-30b-hf is a conversion of Meta's originals; there is no release to download: pass the original download to recover with --base"],
    ];
    for (const [recipe, message] of cases) {
      const run = await modelRecoverInProcess(["download", recipe, "--to", to]);
      expect(run.code, recipe).toBe(2);
      expect(run.stderr).toBe(`model-recover: ${message}\n`);
    }
    expect(existsSync(to)).toBe(false);
  });
});
