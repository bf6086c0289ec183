import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KNOWN_LLAMA_SIZES } from "@model-recover/llama-convert";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRecipe } from "../recipe/load-recipe.js";
import { isTensorRecipe } from "../recipe/types.js";
import { convertLlama } from "./convert-llama.js";

// params.json as Meta wrote it for each size; 30B's is the file whose md5 OpenAssistant's card publishes.
const paramsOf = (size: (typeof KNOWN_LLAMA_SIZES)[number]) => `{"dim": ${size.dim}, "multiple_of": 256, "n_heads": ${size.nHeads}, "n_layers": ${size.nLayers}, "norm_eps": 1e-06, "vocab_size": -1}`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "convert-recipes-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.each(KNOWN_LLAMA_SIZES)("the recipe for LLaMA-$name", (size) => {
  it("names exactly the files the conversion makes, with the published md5s and no other", async () => {
    const loaded = await loadRecipe(`llama-${size.name.toLowerCase()}-hf`);
    if (!isTensorRecipe(loaded)) throw new Error("not a conversion recipe");
    expect(loaded.base.model).toBe(size.name);
    expect(loaded.base.files?.filter((f) => f.name.startsWith("consolidated.")).length).toBe(size.shards);
    const folder = join(dir, size.name);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, "params.json"), paramsOf(size));
    const summary = await convertLlama({ originals: dir, outDir: join(dir, `${size.name}-hf`), recipe: loaded, dryRun: true });
    expect(summary.ok).toBe(true);
    const made = [...summary.files.map((f) => (f.status === "verified" ? f.file.name : f.name)), ...summary.notWritten.map((s) => s.name)];
    // tokenizer.model is copied from the originals, absent here; tokenizer.json is made by no converter of ours.
    const notMade = summary.notMade.map((f) => f.name).sort();
    expect(notMade).toEqual(size.name === "30B" ? ["tokenizer.json", "tokenizer.model"] : ["tokenizer.model"]);
    expect([...made, ...notMade].sort()).toEqual(loaded.recipe.files.map((f) => f.name).sort());
  });
});

describe("LLaMA-30B's converted folder from its published params.json alone (a dry run)", () => {
  it("has the five md5s OpenAssistant's card publishes, each checked by the conversion", async () => {
    const originals = join(dir, "published", "30B");
    await mkdir(originals, { recursive: true });
    await writeFile(join(originals, "params.json"), paramsOf(KNOWN_LLAMA_SIZES[2]));
    const summary = await convertLlama({ originals, outDir: join(dir, "30B-dry"), dryRun: true });
    expect(summary.inputs).toEqual([expect.objectContaining({ name: "params.json", md5: "4babdbd05b8923226a9e9622492054b6" })]);
    const md5 = async (name: string) => createHash("md5").update(await readFile(join(dir, "30B-dry", name))).digest("hex");
    expect({
      "config.json": await md5("config.json"),
      "generation_config.json": await md5("generation_config.json"),
      "pytorch_model.bin.index.json": await md5("pytorch_model.bin.index.json"),
      "tokenizer_config.json": await md5("tokenizer_config.json"),
      "special_tokens_map.json": await md5("special_tokens_map.json"),
    }).toEqual({
      "config.json": "598538f18fed1877b41f77de034c0c8a",
      "generation_config.json": "aee09e21813368c49baaece120125ae3",
      "pytorch_model.bin.index.json": "fecfda4fba7bfd911e187a85db5fa2ef",
      "tokenizer_config.json": "edd1a5897748864768b1fab645b31491",
      "special_tokens_map.json": "6b2e0a735969660e720c27061ef3f3d3",
    });
    expect(summary.files.every((f) => f.status === "verified" && f.file.checks.includes("card-md5"))).toBe(true);
  });
});
