import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode, RecipeError } from "../errors.js";
import { outputAsBase } from "./base-recipe.js";
import { loadRecipe } from "./load-recipe.js";
import { isTensorRecipe } from "./types.js";

const conversion = (name: string) => ({
  name,
  title: `${name}, converted`,
  pipeline: "convert-llama",
  base: { title: "tiny originals", model: "tiny", files: [{ name: "consolidated.00.pth", md5: "0".repeat(32) }] },
  files: [
    { name: "config.json", md5: "1".repeat(32) },
    { name: "pytorch_model.bin", md5: null, size: 123 },
  ],
});
const codec = (name: string, base: unknown, pipeline = "xor-codec") => ({
  name,
  title: `${name}, a fine-tune`,
  pipeline,
  base,
  files: [{ name: "pytorch_model.bin", md5: null }],
});

let dir: string;
const write = (name: string, recipe: unknown) => writeFile(join(dir, `${name}.json`), JSON.stringify(recipe));
/** The error loading `name` from the test folder throws, by the name the CLI would be given. */
const refusal = async (name: string): Promise<RecipeError> => {
  const error = await loadRecipe(join(dir, `${name}.json`), { cwd: dir }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RecipeError);
  return error as RecipeError;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mr-base-recipe-"));
  await write("tiny-hf", conversion("tiny-hf"));
  await write("tuned", codec("tuned", { recipe: "tiny-hf" }));
  await write("bundled-base", codec("bundled-base", { recipe: "llama-30b-hf" }));
  await write("self", codec("self", { recipe: "self" }));
  await write("ping", codec("ping", { recipe: "pong" }));
  await write("pong", codec("pong", { recipe: "ping" }));
  await write("orphan", codec("orphan", { recipe: "no-such-recipe" }));
  await write("file-keyed", codec("file-keyed", { recipe: "tiny-hf" }, "xor-enc"));
  await write("misnamed", conversion("not-misnamed"));
  await write("on-misnamed", codec("on-misnamed", { recipe: "misnamed" }));
  await write("bad-ref", codec("bad-ref", { recipe: "Tiny HF" }));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('"base": {"recipe": …}', () => {
  it("is the named recipe's output: its files and md5s, the recipe loaded beside it", async () => {
    const loaded = await loadRecipe(join(dir, "tuned.json"), { cwd: dir });
    expect(loaded.baseRecipe?.recipe.name).toBe("tiny-hf");
    expect(isTensorRecipe(loaded.baseRecipe!)).toBe(true);
    expect(loaded.base).toEqual({
      id: "tiny-hf",
      title: "tiny-hf, converted, as recipe tiny-hf makes it",
      model: "tiny-hf", // the conversion of model "tiny": the size a delta on it checks
      files: [
        { name: "config.json", md5: "1".repeat(32) },
        { name: "pytorch_model.bin", md5: null, size: 123 },
      ],
    });
    expect(loaded.base).toEqual(outputAsBase(loaded.baseRecipe!));
  });

  it("finds a bundled recipe when none is next to the recipe", async () => {
    const loaded = await loadRecipe(join(dir, "bundled-base.json"), { cwd: dir });
    expect(loaded.baseRecipe?.recipe.name).toBe("llama-30b-hf");
    expect(loaded.base.files?.map((f) => f.name)).toContain("pytorch_model-00007-of-00007.bin");
  });

  it("makes oasst-sft-6-llama-30b the XOR of llama-30b-hf's output, the files its base file listed", async () => {
    const oasst = await loadRecipe("oasst-sft-6-llama-30b");
    expect(oasst.recipe.base).toEqual({ recipe: "llama-30b-hf" });
    expect(oasst.baseRecipe?.pipeline.name).toBe("convert-llama");
    const { loadBase } = await import("./bases.js");
    const { bundledManifestsDir } = await import("../data-dirs.js");
    const published = await loadBase(bundledManifestsDir, "llama-30b-hf", "test");
    // Every file of the converted folder manifests/bases/ describes is one llama-30b-hf makes, with the same md5.
    for (const file of published.files!) expect(oasst.base.files).toContainEqual(expect.objectContaining({ name: file.name, md5: file.md5 }));
  });

  it("refuses a name no recipe has, as a recipe problem (exit 3) in one line", async () => {
    const error = await refusal("orphan");
    expect(error.exitCode).toBe(ExitCode.recipeInvalid);
    expect(error.message).toBe('orphan.json: /base: {"recipe": "no-such-recipe"} names no recipe (no no-such-recipe.json next to it or among the bundled recipes); run `model-recover list` for the names');
  });

  it("refuses a recipe that is its own base, and a cycle through another, naming the chain", async () => {
    expect((await refusal("self")).message).toBe('self.json: /base: {"recipe": "self"} makes a cycle (self -> self); a chain of recipes must end in a base checkpoint');
    const cycle = await refusal("ping");
    expect(cycle.exitCode).toBe(ExitCode.recipeInvalid);
    expect(cycle.message).toBe('pong.json: /base: {"recipe": "ping"} makes a cycle (ping -> pong -> ping); a chain of recipes must end in a base checkpoint');
  });

  it("refuses a base recipe whose name is not its file name", async () => {
    expect((await refusal("on-misnamed")).message).toBe('misnamed.json: /name: "not-misnamed" must match the file name "misnamed", which on-misnamed.json names as its base');
  });

  it("refuses a format keyed by one base file on a recipe's output, which is a folder", async () => {
    expect((await refusal("file-keyed")).message).toMatch(/^file-keyed\.json: \/base: pipeline xor-enc is keyed by a single base file, but base "tiny-hf, converted, as recipe tiny-hf makes it" describes a folder$/);
  });

  it("validates the reference: a recipe name, nothing else in the object", async () => {
    expect((await refusal("bad-ref")).message).toBe('bad-ref.json: /base/recipe: "Tiny HF" must be lowercase letters, digits, . _ - (like belle-13b-2m)');
    await write("extra-key", codec("extra-key", { recipe: "tiny-hf", title: "x" }));
    expect((await refusal("extra-key")).message).toBe('extra-key.json: /base: unknown key "title" (allowed: recipe)');
  });
});
