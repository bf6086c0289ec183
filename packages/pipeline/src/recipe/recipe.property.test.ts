import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkPlainFileName } from "@model-recover/hf-layout";
import { validateRecipe } from "./load-recipe.js";

const recipeWith = (name: unknown, extra: object = {}) => ({
  name: "x",
  title: "x",
  pipeline: "xor-enc",
  base: "llama-7b",
  files: [{ name, sha256: null, encMd5: null, md5: null, ...extra }],
});

describe("the recipe schema and the runner's checks, together", () => {
  it("accept a file name exactly when it is a safe plain file name", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.constantFrom("..", "a/b", "a\\b", "con.json", "x\u0000", "COM1")), (name) => {
        let accepted = true;
        try {
          validateRecipe("p.json", recipeWith(name));
        } catch (error) {
          accepted = false;
          expect((error as { code?: string }).code).toBe("RECIPE_INVALID");
        }
        expect(accepted).toBe(checkPlainFileName(name).ok);
      }),
      { numRuns: 3000 },
    );
  });

  it("refuse sizes and hashes out of form, whatever the value", () => {
    fc.assert(
      fc.property(fc.oneof(fc.double().filter((d) => !Number.isInteger(d) || d < 0), fc.integer({ min: -(2 ** 52), max: -1 }), fc.integer({ min: 2 ** 40 + 1, max: 2 ** 52 })), fc.string(), (size, md5) => {
        expect(() => validateRecipe("p.json", recipeWith("ok.bin", { size }))).toThrow();
        if (!/^[0-9a-f]{32}$/.test(md5)) expect(() => validateRecipe("p.json", recipeWith("ok.bin", { md5 }))).toThrow();
      }),
      { numRuns: 1000 },
    );
  });
});
