import { createHash } from "node:crypto";
import { cp, mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelRecover, repoRoot, system } from "../support/cli.js";

// Debian's python3-torch lives under /usr/bin/python3, not a pyenv or venv interpreter on PATH.
const PYTHON = "/usr/bin/python3";
const checkScript = join(repoRoot, "scripts", "check-hf-torch.py");
const demo = JSON.parse(await readFile(join(repoRoot, "manifests", "demo.json"), "utf8")) as { files: { name: string; md5: string }[] };

const checkFolder = (folder: string, reference?: string) => system(PYTHON, [checkScript, folder, ...(reference ? ["--reference", reference] : [])], repoRoot);

async function flipByteAt(path: string, fraction: number): Promise<void> {
  const handle = await open(path, "r+");
  const { size } = await handle.stat();
  const position = Math.floor(size * fraction);
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, position);
  byte[0] = byte[0]! ^ 0x01;
  await handle.write(byte, 0, 1, position);
  await handle.close();
}

describe("interop with real PyTorch (Debian python3-torch)", () => {
  let dir: string;
  let reference: string;

  beforeAll(async () => {
    const torch = await system(PYTHON, ["-c", "import torch; print(torch.__version__)"], repoRoot);
    if (torch.code !== 0) throw new Error(`${PYTHON} cannot import torch: install Debian's python3-torch (apt-get install python3-torch); .ci/run does`);
    dir = await mkdtemp(join(tmpdir(), "mr-interop-"));
    reference = join(dir, "reference");
    const made = await system(PYTHON, [join(repoRoot, "scripts", "make-demo-model.py"), "--base-out", join(dir, "base"), "--model-out", reference], repoRoot);
    expect(made.stderr).toBe("");
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("the committed demo release is the generator's model, file for file", async () => {
    for (const file of demo.files) {
      const md5 = createHash("md5").update(await readFile(join(reference, file.name))).digest("hex");
      expect(md5, file.name).toBe(file.md5);
    }
  });

  it("pnpm recover demo gives shards that torch.load, match index.json and config.json, and equal the packed model", async () => {
    const out = join(dir, "demo-out");
    const run = await modelRecover(["recover", "demo", "--out", out]);
    expect(run.code).toBe(0);
    const check = await checkFolder(out, reference);
    expect(check.stderr).toBe("");
    expect(check.stdout).toMatch(/^ok: 2 shards, \d+ tensors.*values equal reference/);
    expect(check.code).toBe(0);
  });

  it("fails when a recovered shard is altered", async () => {
    const altered = join(dir, "altered");
    await cp(join(dir, "demo-out"), altered, { recursive: true });
    await flipByteAt(join(altered, "pytorch_model-00002-of-00002.bin"), 0.5);
    const check = await checkFolder(altered, reference);
    expect(check.code).not.toBe(0);
    expect(check.stderr).toMatch(/pytorch_model-00002-of-00002/);
  });

  it("round-trips real torch files through pack and recover", async () => {
    const release = join(dir, "repacked");
    const packed = await modelRecover(["pack", "--model", reference, "--base", join(dir, "base", "consolidated.00.pth"), "--out", release, "--name", "repacked", "--clear", "README.md"]);
    expect(packed.stderr).not.toMatch(/unexpected error/);
    expect(packed.code).toBe(0);
    const out = join(dir, "repacked-out");
    const run = await modelRecover(["recover", join(release, "repacked.recipe.json"), "--base", join(dir, "base", "consolidated.00.pth"), "--enc", release, "--out", out]);
    expect(run.code).toBe(0);
    expect((await checkFolder(out, reference)).code).toBe(0);
  });
});
