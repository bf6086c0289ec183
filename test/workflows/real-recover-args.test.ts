import { describe, expect, it } from "vitest";
import { loadRecipe } from "@model-recover/pipeline";
import { realRecoverArgs } from "../../scripts/real-recover-lib.js";
import { runScript } from "../support/script.js";

const roots = { llama: "/w/llama", releases: "/w/releases", temp: "/t/recovered" };

describe("scripts/real-recover-args.ts: what the recover workflow's real jobs run", () => {
  it("a release: its base checkpoint in the model folder, its download, an output in the temporary folder", async () => {
    expect(realRecoverArgs(await loadRecipe("belle-13b-2m"), roots)).toEqual(["recover", "belle-13b-2m", "--base", "/w/llama/13B/consolidated.00.pth", "--enc", "/w/releases/belle-13b-2m", "--out", "/t/recovered/belle-13b-2m"]);
  });

  it("a conversion: the model folder of the original download, and no release folder", async () => {
    expect(realRecoverArgs(await loadRecipe("llama-30b-hf"), roots)).toEqual(["recover", "llama-30b-hf", "--base", "/w/llama/30B", "--out", "/t/recovered/llama-30b-hf"]);
  });

  it("a recipe built on a conversion: the originals, converted into the store, or the conversion's job output where RECOVERED_ROOT keeps it", async () => {
    const oasst = await loadRecipe("oasst-sft-6-llama-30b");
    expect(realRecoverArgs(oasst, roots)).toEqual(["recover", "oasst-sft-6-llama-30b", "--base", "/w/llama/30B", "--enc", "/w/releases/oasst-sft-6-llama-30b", "--out", "/t/recovered/oasst-sft-6-llama-30b"]);
    expect(realRecoverArgs(oasst, { ...roots, recovered: "/w/recovered" })).toEqual(["recover", "oasst-sft-6-llama-30b", "--base", "/w/recovered/llama-30b-hf", "--enc", "/w/releases/oasst-sft-6-llama-30b", "--out", "/w/recovered/oasst-sft-6-llama-30b"]);
  });

  it("a delta built on a conversion: the originals (or the conversion's output) as --base, the downloaded delta as --enc", async () => {
    const vicuna = await loadRecipe("vicuna-13b-v1.1");
    expect(realRecoverArgs(vicuna, roots)).toEqual(["recover", "vicuna-13b-v1.1", "--base", "/w/llama/13B", "--enc", "/w/releases/vicuna-13b-v1.1", "--out", "/t/recovered/vicuna-13b-v1.1"]);
    expect(realRecoverArgs(vicuna, { ...roots, recovered: "/w/recovered" })).toEqual(["recover", "vicuna-13b-v1.1", "--base", "/w/recovered/llama-13b-hf", "--enc", "/w/releases/vicuna-13b-v1.1", "--out", "/w/recovered/vicuna-13b-v1.1"]);
  });

  it("prints one argument a line for the workflow's mapfile, and refuses to run without the repository variables", async () => {
    const run = await runScript("real-recover-args.ts", ["llama-7b-hf"], { env: { LLAMA_ROOT: "/w/llama", RELEASES_ROOT: "/w/releases", RUNNER_TEMP: "/t" } });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("recover\nllama-7b-hf\n--base\n/w/llama/7B\n--out\n/t/recovered/llama-7b-hf\n");
    const missing = await runScript("real-recover-args.ts", ["llama-7b-hf"], { env: { LLAMA_ROOT: "", RELEASES_ROOT: "/w/releases" } });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toBe("real-recover-args: repository variable LLAMA_ROOT is not set (Settings > Secrets and variables > Actions > Variables)\n");
  });
});
