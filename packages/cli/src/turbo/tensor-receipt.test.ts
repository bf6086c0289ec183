import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTensorRecipe, type KnownOutput, type LoadedTensorRecipe, loadRecipe } from "@model-recover/pipeline";
import { putBackProblem, receiptProblem } from "./tensor-receipt.js";

const sha = "a".repeat(64);
const TOKENIZER_MD5 = "eeec4125e9c7560836b4873b6f8e3025";

describe("a cached receipt stands for a tensor recipe's outputs only when it is whole and as published", () => {
  let loaded: LoadedTensorRecipe;
  let known: Map<string, KnownOutput>;
  beforeAll(async () => {
    const recipe = await loadRecipe("llama-7b-hf");
    if (!isTensorRecipe(recipe)) throw new Error("llama-7b-hf is a conversion recipe");
    loaded = recipe;
    known = new Map(loaded.recipe.files.map((f) => [f.name, { size: 10, sha256: sha, ...(f.md5 ? { md5: f.md5 } : {}) }]));
  });

  it("accepts a receipt naming every file, with the published md5 where there is one", () => {
    expect(receiptProblem(loaded, known, "bin")).toBeUndefined();
  });

  it("refuses a receipt that leaves a file out, or gives another md5 than the published one", () => {
    const partial = new Map([...known].filter(([name]) => name !== "config.json"));
    expect(receiptProblem(loaded, partial, "bin")).toBe("it does not name config.json");
    const swapped = new Map(known);
    swapped.set("tokenizer.model", { size: 10, sha256: sha });
    expect(receiptProblem(loaded, swapped, "bin")).toBe("its tokenizer.model is not the one whose md5 the recipe publishes");
  });

  it("with --to safetensors, wants safetensors in place of the .bin weights", () => {
    const other = new Map([...known].filter(([name]) => !name.startsWith("pytorch_model")));
    expect(receiptProblem(loaded, other, "safetensors")).toBe("it names no safetensors file");
    other.set("model-00001-of-00001.safetensors", { size: 10, sha256: sha });
    expect(receiptProblem(loaded, other, "safetensors")).toBeUndefined();
  });

  describe("after the put-back", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "tensor-receipt-"));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it("hashes a small file again and names one whose md5 is not the published one", async () => {
      await writeFile(join(dir, "tokenizer.model"), "not the tokenizer");
      const wrong = createHash("md5").update("not the tokenizer").digest("hex");
      expect(await putBackProblem(loaded, known, dir)).toBe(`tokenizer.model has md5 ${wrong}, not the published ${TOKENIZER_MD5}`);
    });
  });
});
