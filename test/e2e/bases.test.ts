import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { demoDir, modelRecover } from "../support/cli.js";

const demoBase = join(demoDir, "base", "consolidated.00.pth");

describe("base checkpoints: identify, and --base as a download folder", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-bases-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("identify names a known base and the recipes it unlocks", async () => {
    const run = await modelRecover(["identify", demoBase]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/demo base: tiny LLaMA-1 consolidated\.00\.pth .*md5 b35006032b88a117a3caea5582b19b2f.*; it unlocks: demo\n$/);
  });

  it("identify says a file is not a known base, with its hashes, and exits 4", async () => {
    const stranger = join(dir, "consolidated.00.pth");
    await writeFile(stranger, xorshift32Bytes(5, 1_060_446));
    const run = await modelRecover(["identify", stranger]);
    expect(run.code).toBe(4);
    expect(run.stdout).toMatch(/not a known base \(md5 [0-9a-f]{32}, sha256 [0-9a-f]{64}, 1060446 bytes\)/);
  });

  it("--base <download root> finds the recipe's file in its model folder, never a same-named file of another model", async () => {
    const root = join(dir, "llama");
    await mkdir(join(root, "7B"), { recursive: true });
    await mkdir(join(root, "demo"), { recursive: true });
    await writeFile(join(root, "7B", "consolidated.00.pth"), xorshift32Bytes(7, 1_060_446));
    await writeFile(join(root, "demo", "consolidated.01.pth"), xorshift32Bytes(8, 1_060_446));
    await cp(demoBase, join(root, "demo", "consolidated.00.pth"));
    const run = await modelRecover(["recover", "demo", "--base", root, "--out", join(dir, "out")]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`base ${join(root, "demo", "consolidated.00.pth")} is the right key`);
  });

  it("--base <download root> without the recipe's file says what it found and what is needed", async () => {
    const root = join(dir, "only-7b");
    await mkdir(join(root, "7B"), { recursive: true });
    await writeFile(join(root, "7B", "consolidated.00.pth"), xorshift32Bytes(7, 1000));
    const run = await modelRecover(["recover", "demo", "--base", root, "--out", join(dir, "out-2")]);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/only-7b: no demo\/consolidated\.00\.pth in this folder \(found .*7B\/consolidated\.00\.pth, not demo base.*\); .* pass it with --base <file>/);
  });
});
