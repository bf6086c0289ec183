import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RecipeError } from "@model-recover/pipeline";
import { realOnly, realStages, recipeMatrix, syntheticLeftOut, syntheticOnly } from "../../scripts/recipe-matrix-lib.js";
import { repoRoot } from "../support/cli.js";
import { runScript } from "../support/script.js";

const manifests = join(repoRoot, "manifests");
/** The bundled recipes built on another recipe's output: OpenAssistant on llama-30b-hf, the deltas on llama-7b-hf and llama-13b-hf. */
const CHAINED = ["alpaca-7b", "oasst-sft-6-llama-30b", "stable-vicuna-13b", "vicuna-13b-v0", "vicuna-13b-v1.1", "vicuna-7b-v1.1", "wizardlm-7b"];

/** The recipes in manifests/ by name, as the folder lists them: JSON files that are neither a schema nor package.json. */
async function recipesIn(dir: string): Promise<string[]> {
  const files = (await readdir(dir)).filter((name) => name.endsWith(".json") && !name.endsWith(".schema.json") && name !== "package.json");
  return files.map((name) => name.slice(0, -".json".length)).sort();
}

describe("scripts/recipe-matrix.ts on manifests/", () => {
  it("lists every recipe in manifests/, by the name `model-recover recover` takes", async () => {
    const run = await runScript("recipe-matrix.ts", []);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const matrix = JSON.parse(run.stdout) as Awaited<ReturnType<typeof recipeMatrix>>;
    expect(matrix.include.map((entry) => entry.recipe).sort()).toEqual(await recipesIn(manifests));
  });

  it("marks releases that need real base weights, and not the bundled demo", async () => {
    const { include } = await recipeMatrix(manifests);
    expect(include).toContainEqual({ recipe: "belle-13b-2m", title: "BELLE-LLaMA-13B-2M", real: true });
    expect(include).toContainEqual({ recipe: "demo", title: "model-recover demo (tiny LLaMA)", real: false });
    expect(realOnly({ include }).include.map((entry) => entry.recipe)).not.toContain("demo");
  });

  it("follows the graph of bases: a recipe built on another's output runs in the second stage, after it", async () => {
    const matrix = await recipeMatrix(manifests);
    expect(matrix.include).toContainEqual({ recipe: "oasst-sft-6-llama-30b", title: "OpenAssistant oasst-sft-6-llama-30b", real: true, after: "llama-30b-hf" });
    expect(matrix.include).toContainEqual(expect.objectContaining({ recipe: "llama-30b-hf", conversion: true }));
    const { first, after } = realStages(matrix);
    expect(after.include.map((entry) => entry.recipe).sort()).toEqual(CHAINED);
    for (const entry of after.include) expect(first.include.map((e) => e.recipe)).toContain(entry.after);
    expect([...first.include, ...after.include].map((e) => e.recipe).sort()).toEqual(realOnly(matrix).include.map((e) => e.recipe).sort());
  });

  it("tells a delta from a conversion: both run on the tensor engine, but a delta reads a base and its delta folder", async () => {
    const matrix = await recipeMatrix(manifests);
    expect(matrix.include).toContainEqual({ recipe: "vicuna-7b-v1.1", title: expect.any(String), real: true, after: "llama-7b-hf", delta: true });
    expect(matrix.include).toContainEqual(expect.objectContaining({ recipe: "alpaca-7b", delta: true }));
    expect(matrix.include.filter((entry) => entry.conversion).map((entry) => entry.recipe).sort()).toEqual(["llama-13b-hf", "llama-30b-hf", "llama-65b-hf", "llama-7b-hf"]);
    expect(matrix.include.filter((entry) => entry.delta && entry.conversion)).toEqual([]);
  });

  it("builds synthetic releases of every XOR recipe, and names each conversion and delta it leaves out, with why", async () => {
    const matrix = await recipeMatrix(manifests);
    const synthetic = syntheticOnly(matrix).include.map((entry) => entry.recipe);
    expect(synthetic).toContain("oasst-sft-6-llama-30b");
    expect(synthetic.filter((name) => /^llama-\d+b-hf$/.test(name))).toEqual([]);
    expect(synthetic).toHaveLength(matrix.include.filter((entry) => !entry.conversion && !entry.delta).length);
    const leftOut = syntheticLeftOut(matrix);
    expect(leftOut).toHaveLength(matrix.include.length - synthetic.length);
    expect(leftOut).toContainEqual(expect.stringMatching(/^vicuna-7b-v1\.1: an additive delta reads a base and a delta folder, and scripts\/synthetic-release\.ts builds XOR releases only/));
    expect(leftOut).toContainEqual(expect.stringMatching(/^llama-30b-hf: a conversion reads an original download, not a release/));
  });

  it("appends matrix, real and has-real to $GITHUB_OUTPUT with --github-output", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mr-matrix-output-"));
    try {
      const outputFile = join(dir, "output");
      await writeFile(outputFile, "earlier=kept\n");
      const run = await runScript("recipe-matrix.ts", ["--github-output"], { env: { GITHUB_OUTPUT: outputFile } });
      expect(run.code).toBe(0);
      const lines = (await readFile(outputFile, "utf8")).trimEnd().split("\n");
      expect(lines[0]).toBe("earlier=kept");
      expect(lines[1]).toBe(`matrix=${run.stdout.trim()}`);
      expect(JSON.parse(lines[2]!.replace(/^real=/, "")).include.every((entry: { real: boolean }) => entry.real)).toBe(true);
      expect(lines[3]).toBe("has-real=true");
      expect(lines.slice(4).map((line) => line.split("=")[0])).toEqual(["synthetic", "real-first", "real-then", "has-real-then"]);
      expect(JSON.parse(lines[6]!.replace(/^real-then=/, "")).include.map((entry: { recipe: string }) => entry.recipe).sort()).toEqual(CHAINED);
      expect(lines[7]).toBe("has-real-then=true");
      // Each recipe the synthetic job leaves out is an annotation on the run, not a silent gap.
      const notices = run.stderr.trimEnd().split("\n");
      expect(notices).toHaveLength(syntheticLeftOut(JSON.parse(run.stdout)).length);
      expect(notices).toContainEqual(expect.stringMatching(/^::notice title=not in the synthetic job::vicuna-7b-v1\.1: an additive delta /));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("scripts/recipe-matrix.ts on another manifests folder", () => {
  let dir: string;
  let belle: Record<string, unknown>;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-matrix-"));
    // Recipes, schemas and whatever they refer to (bases/), not the workspace's node_modules.
    await cp(manifests, dir, { recursive: true, filter: (source) => !source.includes("node_modules") });
    belle = JSON.parse(await readFile(join(manifests, "belle-13b-2m.json"), "utf8")) as Record<string, unknown>;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const writeRecipe = (name: string, recipe: unknown) => writeFile(join(dir, name), `${JSON.stringify(recipe, null, 2)}\n`);

  it("adds an entry when a recipe file is added", async () => {
    const before = await recipeMatrix(dir);
    await writeRecipe("belle-13b-2m-copy.json", { ...belle, name: "belle-13b-2m-copy", title: "BELLE-LLaMA-13B-2M (a copy)" });
    const run = await runScript("recipe-matrix.ts", ["--manifests", dir]);
    expect(run.code).toBe(0);
    const after = JSON.parse(run.stdout) as typeof before;
    expect(after.include).toHaveLength(before.include.length + 1);
    expect(after.include).toContainEqual({ recipe: "belle-13b-2m-copy", title: "BELLE-LLaMA-13B-2M (a copy)", real: true });
  });

  it("skips JSON that is not a recipe: the schema, package.json, other data", async () => {
    const recipes = (await recipeMatrix(dir)).include.map((entry) => entry.recipe);
    await writeFile(join(dir, "package.json"), JSON.stringify({ name: "@model-recover/manifests", private: true, files: ["*.json"] }));
    await writeFile(join(dir, "notes.json"), JSON.stringify({ reviewed: ["belle-13b-2m"] }));
    expect((await recipeMatrix(dir)).include.map((entry) => entry.recipe)).toEqual(recipes);
    expect([...recipes].sort()).toEqual(await recipesIn(manifests));
  });

  it("fails with the recipe's own error when a recipe is invalid", async () => {
    const files = (belle.files as Record<string, unknown>[]).map((file, i) => (i === 1 ? { ...file, md5: "abc123" } : file));
    await writeRecipe("broken.json", { ...belle, name: "broken", files });
    const run = await runScript("recipe-matrix.ts", ["--manifests", dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^recipe-matrix: .*broken\.json: \/files\/1\/md5: "abc123" must be 32 lowercase hex digits/);
    await expect(recipeMatrix(dir)).rejects.toBeInstanceOf(RecipeError);
  });

  it("refuses a chain deeper than the workflow's two stages, naming it", async () => {
    const oasst = JSON.parse(await readFile(join(manifests, "oasst-sft-6-llama-30b.json"), "utf8"));
    await writeRecipe("oasst-on-oasst.json", { ...oasst, name: "oasst-on-oasst", base: { recipe: "oasst-sft-6-llama-30b" } });
    expect(() => realStages({ include: [] })).not.toThrow();
    const matrix = await recipeMatrix(dir);
    expect(() => realStages(matrix)).toThrow("oasst-on-oasst: its base recipe oasst-sft-6-llama-30b is built on llama-30b-hf in turn; .github/workflows/recover.yml runs two stages (add a third job for a chain this deep)");
  });

  it("fails on a recipe file that is not JSON at all instead of dropping it", async () => {
    await writeFile(join(dir, "truncated.json"), '{ "name": "truncated", "files": [');
    await expect(recipeMatrix(dir)).rejects.toThrow(/truncated\.json: not valid JSON/);
  });

  it("fails when a recipe's name differs from its file name, which is how the CLI finds it", async () => {
    await writeRecipe("belle-13b.json", { ...belle, name: "belle-13b-2m" });
    await expect(recipeMatrix(dir)).rejects.toThrow(/belle-13b\.json: \/name: "belle-13b-2m" must match the file name "belle-13b"/);
  });
});
