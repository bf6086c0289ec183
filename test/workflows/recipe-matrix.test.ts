import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RecipeError } from "@model-recover/pipeline";
import { realOnly, recipeMatrix } from "../../scripts/recipe-matrix-lib.js";
import { repoRoot } from "../support/cli.js";
import { runScript } from "../support/script.js";

const manifests = join(repoRoot, "manifests");

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

  it("fails on a recipe file that is not JSON at all instead of dropping it", async () => {
    await writeFile(join(dir, "truncated.json"), '{ "name": "truncated", "files": [');
    await expect(recipeMatrix(dir)).rejects.toThrow(/truncated\.json: not valid JSON/);
  });

  it("fails when a recipe's name differs from its file name, which is how the CLI finds it", async () => {
    await writeRecipe("belle-13b.json", { ...belle, name: "belle-13b-2m" });
    await expect(recipeMatrix(dir)).rejects.toThrow(/belle-13b\.json: \/name: "belle-13b-2m" must match the file name "belle-13b"/);
  });
});
