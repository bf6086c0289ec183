import { execFileSync } from "node:child_process";
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliRun } from "../support/cli.js";
import { HUB_REPO, type HubRelease, serveSmallRelease } from "../support/hub-release.js";
import { runWithin } from "../support/run-within.js";

const lastLine = (run: CliRun) => run.stderr.trim().split("\n").at(-1)!;

describe("download --to and --keep-enc: a folder no download may write, refused in one line before any byte is fetched (issue 10)", () => {
  let dir: string;
  let release: HubRelease;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-download-folder-"));
    release = await serveSmallRelease(join(dir, "inputs"));
    env = { HF_ENDPOINT: release.server.endpoint, HF_TOKEN: "" };
  }, 120_000);
  afterAll(async () => {
    await release?.server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const download = (to: string) => runWithin(["download", release.recipePath, "--to", to], 60_000, env);
  const keepEnc = (kept: string, out: string) => runWithin(["recover", release.recipePath, "--base", release.basePath, "--from-hub", "--keep-enc", kept, "--out", out], 60_000, env);

  it("refuses a folder or a FIFO where an .enc file goes, with exit 4, and leaves it as it was", async () => {
    for (const [kind, plant, message] of [
      ["folder", (path: string) => mkdir(path), "is a folder"],
      ["fifo", async (path: string) => execFileSync("mkfifo", [path]), "is a FIFO \\(named pipe\\)"],
    ] as const) {
      const to = join(dir, `to-${kind}`);
      await mkdir(to);
      await plant(join(to, release.bigEnc));
      release.server.clearLog();
      for (const run of [await download(to), await keepEnc(to, join(dir, `out-${kind}`))]) {
        expect(run.hung, kind).toBe(false);
        expect(run.code, `${kind}: ${run.stderr}`).toBe(4);
        expect(run.stderr).not.toMatch(/\n\s+at /);
        expect(lastLine(run)).toMatch(new RegExp(`^model-recover: \\S+/to-${kind}/${release.bigEnc.replaceAll(".", "\\.")}: ${message}, where the download of \\S+ goes; remove it, or download into another folder$`));
      }
      expect(release.server.bytesServed(HUB_REPO, release.bigEnc)).toBe(0);
      const planted = await lstat(join(to, release.bigEnc));
      expect(kind === "folder" ? planted.isDirectory() : planted.isFIFO()).toBe(true);
      expect(await readdir(to)).toEqual([release.bigEnc]);
    }
  }, 120_000);

  it("refuses a folder another run holds (recover's lock), with exit 6 as recover does, and takes it once that run is gone", async () => {
    const to = join(dir, "to-held");
    await mkdir(join(to, ".model-recover"), { recursive: true });
    // What a running recover (or download) writes: this test's own process is alive on this host.
    await writeFile(join(to, ".model-recover", "lock"), JSON.stringify({ pid: process.pid, host: hostname(), started: "2024-01-01T00:00:00.000Z" }));
    release.server.clearLog();
    for (const run of [await download(to), await keepEnc(to, join(dir, "out-held"))]) {
      expect(run.code, run.stderr).toBe(6);
      expect(lastLine(run)).toMatch(new RegExp(`^model-recover: \\S+/to-held: another model-recover \\(pid ${process.pid}, started 2024-01-01T00:00:00.000Z\\) is using this folder; wait for it to finish or stop it$`));
    }
    expect(release.server.bytesServed(HUB_REPO, release.bigEnc)).toBe(0);
    // A lock left by a run that is gone is taken over; the download leaves no state folder behind.
    await writeFile(join(to, ".model-recover", "lock"), JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), started: "2024-01-01T00:00:00.000Z" }));
    const run = await download(to);
    expect(run.code, run.stderr).toBe(0);
    expect((await readdir(to)).sort()).not.toContain(".model-recover");
  }, 120_000);

  it("refuses a --token-file FIFO that nobody writes, in one line with exit 4, after a short wait rather than forever", async () => {
    const fifo = join(dir, "token-fifo");
    execFileSync("mkfifo", [fifo]);
    const run = await runWithin(["download", release.recipePath, "--to", join(dir, "to-token"), "--token-file", fifo], 20_000, env);
    expect(run.hung).toBe(false);
    expect(run.code, run.stderr).toBe(4);
    expect(run.stderr).toMatch(new RegExp(`^model-recover: token file ${fifo.replaceAll(".", "\\.")}: is a pipe that gave no token within 3 s; name a file holding a Hugging Face token, or a command that prints one \\(--token-file <\\(command\\)\\)\n$`));
    expect(await readdir(dir)).not.toContain("to-token");
  });

  it("refuses a second download into a folder while the first runs, with exit 6", async () => {
    const to = join(dir, "to-twice");
    // The first download stalls past its first MB, long enough for the second to start.
    release.server.setFaults(HUB_REPO, release.bigEnc, { stallAt: { offset: 1_000_000, ms: 5_000 } });
    const first = download(to);
    const partials = join(to, ".model-recover-download");
    for (let waited = 0; !(await readdir(partials).catch(() => [] as string[])).some((n) => n.endsWith(".part")); waited += 50) {
      if (waited > 20_000) throw new Error("the first download never started");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const second = await download(to);
    expect(second.code, second.stderr).toBe(6);
    expect(lastLine(second)).toMatch(/^model-recover: \S+\/to-twice: another model-recover \(pid \d+, started \S+\) is using this folder; wait for it to finish or stop it$/);
    expect((await first).code).toBe(0);
    release.server.setFaults(HUB_REPO, release.bigEnc, {});
  }, 120_000);
});
