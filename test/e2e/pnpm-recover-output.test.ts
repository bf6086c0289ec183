import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { demoDir, modelRecover, pnpmScript, repoRoot } from "../support/cli.js";

/** What a user reads, with what changes from run to run replaced: the scratch folder, the repository, times, free space. */
function normalized(text: string, out: string): string {
  return text
    .replaceAll(out, "<out>")
    .replaceAll(repoRoot.replace(/\/$/, ""), "<repo>")
    .replace(/in \d+(\.\d+)? s\)/g, "in <t> s)")
    .replace(/room: (.*) needed, .* free/g, "room: $1 needed, <free> free");
}

describe("pnpm recover speaks with one voice", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-voice-"));
    env = { TURBO_CACHE_DIR: join(dir, "turbo-cache"), MODEL_RECOVER_STORE: join(dir, "store") };
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("prints model-recover's own lines on a miss and on a hit, each file once, and nothing of turbo's or the builds' (snapshot)", async () => {
    const out = join(dir, "out");
    const miss = await pnpmScript(["recover", "demo", "--out", out], { env });
    expect(miss.code, miss.stderr).toBe(0);
    expect(normalized(miss.stderr, out)).toMatchSnapshot("miss: stderr");
    expect(normalized(miss.stdout, out)).toMatchSnapshot("miss: stdout");
    const hit = await pnpmScript(["recover", "demo", "--out", out], { env });
    expect(hit.code, hit.stderr).toBe(0);
    expect(normalized(hit.stderr, out)).toMatchSnapshot("hit: stderr");
    expect(normalized(hit.stdout, out)).toMatchSnapshot("hit: stdout");
    for (const run of [miss, hit]) {
      expect(run.stdout.match(/^config\.json /gm)).toHaveLength(1);
      // pnpm echoes `$ <command>` before a script, never before a bin: `recover` is a bin (scripts/package.json).
      expect(run.stdout + run.stderr).not.toMatch(/^\$ /m);
    }
  }, 120_000);
});

it("exits 0 with a warning when every file verified and only the Hugging Face layout check objects", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mr-layout-"));
  try {
    const model = join(dir, "model");
    await mkdir(model);
    // Two shards and no index: every file verifies, but transformers could not load the folder.
    await writeFile(join(model, "config.json"), '{"architectures": ["LlamaForCausalLM"]}\n');
    await writeFile(join(model, "pytorch_model-00001-of-00002.bin"), xorshift32Bytes(11, 300_000));
    await writeFile(join(model, "pytorch_model-00002-of-00002.bin"), xorshift32Bytes(12, 200_000));
    const base = join(demoDir, "base", "consolidated.00.pth");
    const pack = await modelRecover(["pack", "--model", model, "--base", base, "--out", join(dir, "release"), "--name", "no-index"]);
    expect(pack.code, pack.stderr).toBe(0);
    const run = await modelRecover(["recover", join(dir, "release", "no-index.recipe.json"), "--base", base, "--enc", join(dir, "release"), "--out", join(dir, "out")]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^warning: the folder is not a complete Hugging Face model: .*index/m);
    expect(run.stdout + run.stderr).not.toMatch(/did not verify/);
    expect(run.stdout).toMatch(/All 3 files of no-index verified in/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);
