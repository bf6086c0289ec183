import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundledManifestsDir, loadRecipe, recipeNames, validateRecipe } from "./load-recipe.js";
import { pipelinesDir } from "../data-dirs.js";
import { loadPipeline, loadXorPipeline, pipelineNames } from "./pipelines.js";
import type { Recipe } from "./types.js";
import { schemaProblems } from "./validate.js";

const belle = JSON.parse(await readFile(join(bundledManifestsDir, "belle-13b-2m.json"), "utf8")) as Recipe;
const withFile = (file: Record<string, unknown>, index = 1) => ({ ...belle, files: belle.files.map((f, i) => (i === index ? file : f)) });
const messageFor = (value: unknown) => {
  try {
    validateRecipe("manifests/x.json", value);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the recipe to be refused");
};

describe("recipes in manifests/", () => {
  it("all validate against the schema", async () => {
    const names = await recipeNames();
    expect(names).toEqual(expect.arrayContaining(["belle-13b-2m", "demo"]));
    for (const name of names) await expect(loadRecipe(name)).resolves.toMatchObject({ recipe: { name } });
  });

  it("belle-13b-2m holds what the model card says: nine encrypted files, the README's md5, the 13B base", () => {
    expect(belle.files.filter((f) => f.clear !== true)).toHaveLength(9);
    expect(belle.files.find((f) => f.name === "README.md")).toEqual({ name: "README.md", clear: true, md5: "d463d8a04501fbf1d71feaa8fc1be250" });
    expect(belle.files.find((f) => f.name === "pytorch_model-00001-of-00003.bin")).toMatchObject({ encMd5: "0311f7aac77860f24e5d6379043a1c5e", md5: "1710f2d139d883d7e1e9a3f3198ee581", size: 9_948_722_999 });
    expect(belle.base).toBe("llama-13b-00");
    expect(belle.prompt).toBe("Human: {input} \n\nAssistant:");
  });
});

describe("an invalid recipe gets an error naming the file, the JSON path and what was expected", () => {
  it("a file name that escapes the folder", () => {
    expect(messageFor(withFile({ name: "../a", md5: null, sha256: "0".repeat(64), encMd5: null }, 3))).toBe(
      'manifests/x.json: /files/3/name: "../a" must be a plain file name (no / \\ or .., no control or reserved characters)',
    );
  });

  it("an md5 that is not 32 lowercase hex digits", () => {
    expect(messageFor(withFile({ ...belle.files[1], md5: "ABC" }))).toMatch(/^manifests\/x\.json: \/files\/1\/md5: "ABC" must be 32 lowercase hex digits/);
  });

  it("an unknown key, listing the allowed ones", () => {
    expect(messageFor({ ...belle, extra: 1 })).toMatch(/^manifests\/x\.json: \/: unknown key "extra" \(allowed: \$schema, name, title/);
  });

  it("a sha256 that is not 64 hex digits, and a clear file with one", () => {
    expect(messageFor(withFile({ ...belle.files[1], sha256: "E366" }))).toMatch(/\/files\/1\/sha256: "E366" must be 64 lowercase hex digits \(a sha256\) or null/);
    expect(messageFor(withFile({ name: "README.md", clear: true, md5: null, sha256: "0".repeat(64) }, 0))).toMatch(/\/files\/0\/sha256: .* not allowed here/);
  });

  it("a file named twice, or twice in different case", () => {
    expect(messageFor(withFile({ ...belle.files[2], name: "config.json" }, 2))).toMatch(/\/files\/2\/name: "config.json" appears twice/);
    expect(messageFor(withFile({ ...belle.files[2], name: "Config.json" }, 2))).toMatch(/"Config.json" is the same file as "config.json" on case-insensitive or normalizing file systems/);
  });

  it("a Windows device name the schema pattern lets through", () => {
    expect(messageFor(withFile({ ...belle.files[2], name: "con.json" }, 2))).toMatch(/\/files\/2\/name: "con.json" must not be a Windows device name/);
  });
});

describe("recipes resolve their base and pipeline", () => {
  it("belle-13b-2m is keyed by LLaMA-13B consolidated.00.pth, described once in manifests/bases/", async () => {
    const { base, pipeline } = await loadRecipe("belle-13b-2m");
    expect(base).toMatchObject({ id: "llama-13b-00", fileName: "consolidated.00.pth", md5: "0804c42ca65584f50234a86d71e6916a" });
    expect(pipeline).toMatchObject({ name: "xor-enc", header: "sha256", encryptedName: "{name}.{sha256}.enc" });
  });

  it("oasst-sft-6-llama-30b is xor-codec over the converted LLaMA-30B folder", async () => {
    const { base, pipeline } = await loadRecipe("oasst-sft-6-llama-30b");
    expect(pipeline).toMatchObject({ engine: "xor" });
    expect("key" in pipeline && pipeline.key).toMatchObject({ material: "base-folder", keystream: "zero-padded" });
    expect(base.files?.find((f) => f.name === "pytorch_model-00001-of-00007.bin")?.md5).toBe("9cffb1aeba11b16da84b56abb773d099");
  });

  it("names an unknown base or pipeline with the JSON path", async () => {
    const dir = await mkdtemp(join(tmpdir(), "recipe-ref-"));
    await writeFile(join(dir, "x.json"), JSON.stringify({ ...belle, base: "llama-99b" }));
    await expect(loadRecipe(join(dir, "x.json"))).rejects.toThrow(/\/base: "llama-99b" is not a base in manifests\/bases\//);
    await writeFile(join(dir, "y.json"), JSON.stringify({ ...belle, pipeline: "xor-magic" }));
    await expect(loadRecipe(join(dir, "y.json"))).rejects.toThrow(/\/pipeline: "xor-magic" is not a pipeline in pipelines\/ \(known: add-delta, add-delta-v0, convert-llama, weight-diff, xor-codec, xor-codec-gzip, xor-enc, xor-prefix\)$/);
    // The data package's own package.json sits in pipelines/ but is no pipeline.
    await writeFile(join(dir, "z.json"), JSON.stringify({ ...belle, pipeline: "package" }));
    await expect(loadRecipe(join(dir, "z.json"))).rejects.toThrow(/\/pipeline: "package" is not a pipeline in pipelines\//);
    await rm(dir, { recursive: true, force: true });
  });
});

describe("loadRecipe", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "recipe-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reports JSON that does not parse, with the file", async () => {
    await writeFile(join(dir, "broken.json"), '{"name": ');
    await expect(loadRecipe(join(dir, "broken.json"))).rejects.toMatchObject({ code: "RECIPE_INVALID", message: expect.stringMatching(/broken\.json: not valid JSON/) });
  });

  it("survives deeply nested JSON with a one-line error", async () => {
    await writeFile(join(dir, "deep.json"), "[".repeat(100_000) + "]".repeat(100_000));
    await expect(loadRecipe(join(dir, "deep.json"))).rejects.toMatchObject({ code: "RECIPE_INVALID" });
  });

  it("says which recipes exist when a name is unknown", async () => {
    await expect(loadRecipe("belle-99b")).rejects.toMatchObject({ code: "RECIPE_NOT_FOUND", message: expect.stringMatching(/no recipe named "belle-99b"/) });
  });
});

const convert = JSON.parse(await readFile(join(pipelinesDir, "convert-llama.json"), "utf8")) as Record<string, unknown>;
const xorEnc = JSON.parse(await readFile(join(pipelinesDir, "xor-enc.json"), "utf8")) as Record<string, unknown>;

describe("pipelines: each names its engine and what that engine needs", () => {
  it("every definition in pipelines/ validates, and says which engine runs it", async () => {
    for (const name of await pipelineNames()) expect(["xor", "tensor"]).toContain((await loadPipeline(name, "test")).engine);
    expect(schemaProblems("pipelines/convert-llama.json", convert, "pipeline")).toBeUndefined();
  });

  it("refuses a tensor pipeline with an XOR key, and an XOR pipeline without one or without an engine", () => {
    expect(schemaProblems("p.json", { ...convert, key: xorEnc.key }, "pipeline")).toEqual(["p.json: /key: is not allowed here (a tensor pipeline has no XOR settings)"]);
    expect(schemaProblems("p.json", { ...xorEnc, key: undefined }, "pipeline")).toEqual(['p.json: /: missing required key "key"']);
    expect(schemaProblems("p.json", { ...xorEnc, engine: undefined }, "pipeline")).toEqual(['p.json: /: missing required key "engine"']);
    expect(schemaProblems("p.json", { ...convert, steps: ["key-on-smallest-file"] }, "pipeline")?.[0]).toMatch(/^p\.json: \/steps\/0: "key-on-smallest-file" must be one of \["input-files","input-shapes","input-md5","room"\]$/);
  });

  it("keeps a conversion out of pack --format and recipe from-folder --format", async () => {
    await expect(loadXorPipeline("convert-llama", "--format")).rejects.toThrow('--format: /pipeline: "convert-llama" is a conversion pipeline, not an XOR release format (known: xor-codec, xor-codec-gzip, xor-enc, xor-prefix)');
  });
});
