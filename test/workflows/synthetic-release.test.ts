import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTensorRecipe, loadRecipe, recipeNames, type Recipe } from "@model-recover/pipeline";
import { buildSyntheticRelease } from "../../scripts/synthetic-release-lib.js";
import { modelRecover, repoRoot } from "../support/cli.js";
import { runScript } from "../support/script.js";

const SCALE = 100; // bytes per GB: BELLE's 9.95 GB shard becomes 995 bytes
const SHARDS = ["pytorch_model-00001-of-00003.bin", "pytorch_model-00002-of-00003.bin", "pytorch_model-00003-of-00003.bin"];

describe("scripts/synthetic-release.ts on manifests/belle-13b-2m.json", () => {
  let dir: string;
  let belle: Recipe;
  let printed: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-synthetic-"));
    belle = (await loadRecipe(join(repoRoot, "manifests", "belle-13b-2m.json"))).recipe;
    const run = await runScript("synthetic-release.ts", [join(repoRoot, "manifests", "belle-13b-2m.json"), "--out", dir, "--scale", String(SCALE)]);
    expect(run.stderr).toMatch(/10 files shaped like belle-13b-2m/);
    expect(run.code).toBe(0);
    printed = run.stdout.trim();
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("prints the model-recover command that recovers it", () => {
    expect(printed).toMatch(/^pnpm model-recover recover \S+ --base \S+ --enc \S+ --out \S+$/);
    for (const path of [join(dir, "recipe.json"), join(dir, "base", "consolidated.00.pth"), join(dir, "release"), join(dir, "recovered")]) expect(printed).toContain(path);
  });

  it("has the recipe's own shape: its file names, the README in clear, the rest encrypted", async () => {
    const synthetic = JSON.parse(await readFile(join(dir, "recipe.json"), "utf8")) as Recipe;
    expect(synthetic.files.map((file) => file.name).sort()).toEqual(belle.files.map((file) => file.name).sort());
    expect(synthetic.files.filter((file) => file.clear).map((file) => file.name)).toEqual(["README.md"]);
    const release = await readdir(join(dir, "release"));
    for (const file of synthetic.files.filter((f) => !f.clear)) expect(release).toContain(`${file.name}.${file.sha256}.enc`);
    expect(release).toContain("README.md");
  });

  it("scales the sizes the recipe knows, and gives shards of unknown size their known sibling's", async () => {
    const sizeOf = async (name: string) => (await stat(join(dir, "model", name))).size;
    expect(await sizeOf(SHARDS[0]!)).toBe(Math.round((9_948_722_999 * SCALE) / 1e9));
    expect(await sizeOf(SHARDS[1]!)).toBe(await sizeOf(SHARDS[0]!));
    expect(await sizeOf("tokenizer.model")).toBe(1); // 499,723 bytes is 0.05 at this scale: at least one byte
  });

  it("writes a LlamaForCausalLM config.json and an index whose weight_map names exactly the recipe's shards", async () => {
    const config = JSON.parse(await readFile(join(dir, "model", "config.json"), "utf8")) as { architectures: string[] };
    expect(config.architectures).toEqual(["LlamaForCausalLM"]);
    const index = JSON.parse(await readFile(join(dir, "model", "pytorch_model.bin.index.json"), "utf8")) as { weight_map: Record<string, string> };
    expect([...new Set(Object.values(index.weight_map))].sort()).toEqual(SHARDS);
  });

  it("is recovered, every file verified, by `model-recover recover`", async () => {
    const base = join(dir, "base", "consolidated.00.pth");
    const run = await modelRecover(["recover", join(dir, "recipe.json"), "--base", base, "--enc", join(dir, "release"), "--out", join(dir, "recovered")]);
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/All 10 files of BELLE-LLaMA-13B-2M \(synthetic\) verified/);
    const recovered = (await readdir(join(dir, "recovered"))).filter((name) => !name.startsWith("."));
    expect(recovered.sort()).toEqual(belle.files.map((file) => file.name).sort());
  });

  it("is deterministic: the same recipe, scale and seed give the same release", async () => {
    const again = await mkdtemp(join(tmpdir(), "mr-synthetic-again-"));
    try {
      const rebuilt = await buildSyntheticRelease({ recipe: belle, outDir: again, bytesPerGB: SCALE });
      const first = JSON.parse(await readFile(join(dir, "recipe.json"), "utf8")) as Recipe;
      expect(rebuilt.recipe).toEqual(first);
    } finally {
      await rm(again, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("a synthetic release of every XOR recipe's shape, in the recipe's own format (conversions have their own tests, and the synthetic matrix leaves them out)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-synthetic-all-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("recovers for each XOR recipe in manifests/, every file verified", async () => {
    for (const name of await recipeNames()) {
      const loaded = await loadRecipe(name);
      if (isTensorRecipe(loaded)) continue;
      const { recipe } = loaded;
      const made = await buildSyntheticRelease({ recipe, outDir: join(dir, name), bytesPerGB: SCALE });
      expect(made.recipe.pipeline, name).toBe(recipe.pipeline);
      // As recover.yml runs it: --base the base folder, where a file base is found and which a folder base is.
      const run = await modelRecover(["recover", made.recipePath, "--base", join(dir, name, "base"), "--enc", made.encDir, "--out", join(dir, name, "recovered")]);
      expect(run.code, `${name}: ${run.stderr}`).toBe(0);
      expect(run.stdout, name).toMatch(new RegExp(`All ${recipe.files.length} files of .* verified`));
    }
  }, 300_000);
});
