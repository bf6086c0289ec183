import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBelleShapedRelease, type BuiltRelease } from "../support/belle-shaped-release.js";
import { modelRecover, system } from "../support/cli.js";

const BELLE_ENC_NAMES = [
  "config.json",
  "generation_config.json",
  "pytorch_model-00001-of-00003.bin",
  "pytorch_model-00002-of-00003.bin",
  "pytorch_model-00003-of-00003.bin",
  "pytorch_model.bin.index.json",
  "special_tokens_map.json",
  "tokenizer.model",
  "tokenizer_config.json",
];

describe("model-recover recover on a release shaped like BELLE-LLaMA-13B-2M", () => {
  let dir: string;
  let release: BuiltRelease;
  let plainMd5: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-e2e-"));
    release = await buildBelleShapedRelease(dir);
    // The reference list comes from the system's md5sum over the plaintext, not from our hashing.
    plainMd5 = join(dir, "finetuned.md5");
    const listed = await system("md5sum", ["./" + "README.md", ...BELLE_ENC_NAMES.map((n) => `./${n}`)], release.plainDir);
    await writeFile(plainMd5, listed.stdout);
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("packs the nine encrypted names of the card, the README in clear", async () => {
    const names = await readdir(release.encDir);
    for (const name of BELLE_ENC_NAMES) expect(names.some((n) => n.startsWith(`${name}.`) && n.endsWith(".enc") && n.length === name.length + 69)).toBe(true);
    expect(names).toContain("README.md");
  });

  it("recovers every file in one command, and md5sum -c accepts them all", async () => {
    const out = join(dir, "recovered");
    const run = await modelRecover(["recover", release.recipePath, "--base", release.basePath, "--enc", release.encDir, "--out", out]);
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/All 10 files of BELLE-LLaMA-13B-2M \(synthetic\) verified/);
    expect(run.stdout).toMatch(/Prompt format it was trained with:\n {2}"Human: \{input\} \\n\\nAssistant:"/);
    expect(run.stderr).toMatch(/not part of the release, left alone: belle-13b-2m-shaped\.enc\.md5/);
    expect(run.stderr).toMatch(/base \S+consolidated\.00\.pth is the right key \(checked on special_tokens_map\.json\)/);
    const check = await system("md5sum", ["-c", plainMd5], out);
    expect(check.stdout.trim().split("\n")).toHaveLength(10);
    expect(check.code).toBe(0);
    const leftovers = (await readdir(out)).filter((n) => n.includes("partial"));
    expect(leftovers).toEqual([]);
  });

  it("does not redo outputs that already verified when run again", async () => {
    const out = join(dir, "rerun");
    const args = ["recover", release.recipePath, "--base", release.basePath, "--enc", release.encDir, "--out", out];
    expect((await modelRecover(args)).code).toBe(0);
    const shard = join(out, "pytorch_model-00001-of-00003.bin");
    const before = await stat(shard);
    const again = await modelRecover(args);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/all 10 files already verified: nothing to recover/);
    expect(again.stdout).toMatch(/from an earlier run/);
    expect((await stat(shard)).mtimeMs).toBe(before.mtimeMs);
  });

  it("takes its paths from the environment and a local config file, flags first", async () => {
    const out = join(dir, "from-config");
    const config = join(dir, "model-recover.config.json");
    await writeFile(config, JSON.stringify({ base: join(dir, "nope.pth"), recipes: { "belle-13b-2m-shaped": { enc: release.encDir, out } } }));
    const env = { MODEL_RECOVER_BASE: release.basePath };
    const run = await modelRecover(["recover", release.recipePath], { cwd: dir, env });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`out:  ${out}`);
    const flagWins = await modelRecover(["recover", release.recipePath, "--base", join(dir, "missing.pth")], { cwd: dir, env });
    expect(flagWins.code).toBe(4);
    expect(flagWins.stderr).toMatch(/missing\.pth: base checkpoint not found/);
  });
});
