import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { buildBelleShapedRelease, type BuiltRelease } from "../support/belle-shaped-release.js";
import { modelRecover, system } from "../support/cli.js";

describe("model-recover recipe from-folder", () => {
  let dir: string;
  let release: BuiltRelease;
  let encList: string;
  let plainList: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-from-folder-"));
    release = await buildBelleShapedRelease(dir, { shardBytes: 6_000_000 });
    await rm(join(release.encDir, "belle-13b-2m-shaped.enc.md5"));
    await rm(join(release.encDir, "belle-13b-2m-shaped.md5"));
    await writeFile(join(release.encDir, ".gitattributes"), "*.enc filter=lfs\n");
    // As the card shows them: `md5sum ./*` over the download, and over the recovered folder.
    encList = (await system("sh", ["-c", "md5sum ./*.enc"], release.encDir)).stdout;
    plainList = (await system("sh", ["-c", "md5sum ./*"], release.plainDir)).stdout;
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("builds a recipe from the folder and the card's lists (one from a file, one from stdin) that recovers the release", async () => {
    await writeFile(join(dir, "card-enc.md5"), encList);
    const recipePath = join(dir, "from-folder.json");
    const made = await modelRecover(
      ["recipe", "from-folder", release.encDir, "--name", "belle-13b-2m-shaped", "--md5", join(dir, "card-enc.md5"), "--md5", "-", "--out", recipePath, "--base-title", "synthetic base"],
      { input: plainList },
    );
    expect(made.stderr).not.toMatch(/unexpected error/);
    expect(made.code).toBe(0);
    const recipe = JSON.parse(await readFile(recipePath, "utf8"));
    expect(recipe.files).toHaveLength(10);
    expect(recipe.files.find((f: { name: string }) => f.name === "README.md")).toMatchObject({ clear: true });
    expect(recipe.files.find((f: { name: string }) => f.name === "tokenizer.model")).toMatchObject({ size: 499_723 });
    expect(made.stderr).not.toMatch(/gitattributes/);

    const out = join(dir, "out");
    const run = await modelRecover(["recover", recipePath, "--base", release.basePath, "--enc", release.encDir, "--out", out]);
    expect(run.code).toBe(0);
    await writeFile(join(dir, "card-plain.md5"), plainList);
    const check = await system("md5sum", ["-c", join(dir, "card-plain.md5")], out);
    expect(check.stdout.trim().split("\n")).toHaveLength(10);
    expect(check.code).toBe(0);
  });

  it("--hub names the repo (and commit) the release lives in; list shows the known releases' repos", async () => {
    const sha = "0123456789abcdef0123456789abcdef01234567";
    const made = await modelRecover(["recipe", "from-folder", release.encDir, "--name", "on-the-hub", "--hub", `SomeOrg/some-release-enc@${sha}`]);
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout).hub).toEqual({ repo: "SomeOrg/some-release-enc", revision: sha });
    const branch = await modelRecover(["recipe", "from-folder", release.encDir, "--name", "on-the-hub", "--hub", "SomeOrg/some-release-enc@main"]);
    expect(branch.code).toBe(2);
    expect(branch.stderr).toMatch(/--hub SomeOrg\/some-release-enc@main: expected <owner\/name> or <owner\/name>@<commit sha, 40 hex digits>/);
    const path = await modelRecover(["recipe", "from-folder", release.encDir, "--name", "on-the-hub", "--hub", "../etc"]);
    expect(path.code).toBe(3);
    const list = await modelRecover(["list"]);
    expect(list.stdout).toMatch(/^belle-13b-2m .* BelleGroup\/BELLE-LLaMA-13B-2M-enc$/m);
    expect(list.stdout).toMatch(/^oasst-sft-6-llama-30b .* OpenAssistant\/oasst-sft-6-llama-30b-xor \(oasst-sft-6-llama-30b-xor\/\)$/m);
    expect(list.stdout).toMatch(/^point-alpaca-7b .* -$/m);
  });

  it("marks hashes the card does not publish as unknown and says so", async () => {
    const made = await modelRecover(["recipe", "from-folder", release.encDir, "--name", "partial"]);
    expect(made.code).toBe(0);
    const recipe = JSON.parse(made.stdout);
    expect(recipe.files.every((f: { md5: unknown }) => f.md5 === null)).toBe(true);
    expect(made.stderr).toMatch(/note: config\.json: the card publishes no md5 of the recovered file/);
  });

  it("refuses to make a recipe from a download that does not match the card", async () => {
    const bad = encList.replace(/^[0-9a-f]{32}/, "0".repeat(32));
    const made = await modelRecover(["recipe", "from-folder", release.encDir, "--name", "x", "--md5", "-"], { input: bad });
    expect(made.code).toBe(4);
    expect(made.stderr).toMatch(/^model-recover: .*\.enc: md5 [0-9a-f]{32} but the card says 0{32}; download it again/);
  });

  it("names the line of a pasted list that is not md5sum output", async () => {
    const made = await modelRecover(["recipe", "from-folder", release.encDir, "--name", "x", "--md5", "-"], { input: "not a checksum line\n" });
    expect(made.code).not.toBe(0);
    expect(made.stderr).toMatch(/^model-recover: -:1: expected/);
  });

  it("builds recipes for the xor-codec and xor-prefix formats too, and they recover", async () => {
    const model = join(dir, "fmt-model");
    await mkdir(model, { recursive: true });
    await writeFile(join(model, "config.json"), JSON.stringify({ architectures: ["LlamaForCausalLM"] }));
    await writeFile(join(model, "pytorch_model.bin"), xorshift32Bytes(41, 3_000_001));
    await writeFile(join(model, "added_tokens.json"), '{"<pad>": 32000}');
    const plainList = join(dir, "fmt-plain.md5");
    await writeFile(plainList, (await system("sh", ["-c", "md5sum ./*"], model)).stdout);

    const baseFolder = join(dir, "fmt-base-hf");
    await mkdir(baseFolder, { recursive: true });
    await writeFile(join(baseFolder, "config.json"), JSON.stringify({ architectures: ["LlamaForCausalLM"], base: true }));
    await writeFile(join(baseFolder, "pytorch_model.bin"), xorshift32Bytes(42, 2_000_000));
    const baseFile = join(dir, "fmt-7B", "consolidated.00.pth");
    await mkdir(join(dir, "fmt-7B"), { recursive: true });
    await writeFile(baseFile, xorshift32Bytes(43, 17_000_000));

    for (const [format, base] of [["xor-codec", baseFolder], ["xor-prefix", baseFile]] as const) {
      const release = join(dir, `fmt-${format}`);
      const packed = await modelRecover(["pack", "--model", model, "--base", base, "--out", release, "--name", `fmt-${format}`, "--format", format, "--recipe", join(dir, `fmt-${format}.packed.json`)]);
      expect(packed.code, packed.stderr).toBe(0);
      const recipePath = join(dir, `fmt-${format}.json`);
      const made = await modelRecover(["recipe", "from-folder", release, "--name", `fmt-${format}`, "--format", format, "--md5", plainList, "--out", recipePath]);
      expect(made.code, made.stderr).toBe(0);
      const recipe = JSON.parse(await readFile(recipePath, "utf8"));
      expect(recipe.pipeline).toBe(format);
      expect(recipe.files.map((f: { name: string }) => f.name).sort()).toEqual(["added_tokens.json", "config.json", "pytorch_model.bin"]);
      const out = join(dir, `fmt-${format}-out`);
      const run = await modelRecover(["recover", recipePath, "--base", base, "--enc", release, "--out", out]);
      expect(run.code, run.stderr).toBe(0);
      expect((await system("md5sum", ["-c", plainList], out)).code).toBe(0);
    }
  }, 120_000);
});
