import { describe, expect, it } from "vitest";
import type { SafetensorsConversion } from "./conversion.js";
import { safetensorsFileName, weightMapEntries } from "./hf-index.js";

describe("safetensorsFileName: convert.py's rename", () => {
  const names: Record<string, string> = {
    "pytorch_model-00001-of-00007.bin": "model-00001-of-00007.safetensors",
    "pytorch_model.bin": "model.safetensors",
    "consolidated.00.pth": "consolidated.00.safetensors",
    "adapter.v2.bin": "adapter.v2.safetensors",
    ".bin": ".bin.safetensors", // os.path.splitext(".bin") is (".bin", "")
    "pytorch_model_pytorch_model.bin": "model_model.safetensors",
  };
  for (const [bin, safetensors] of Object.entries(names)) {
    it(`${bin} -> ${safetensors}`, () => {
      expect(safetensorsFileName(bin)).toBe(safetensors);
    });
  }
});

describe("weightMapEntries", () => {
  it("maps every name the .bin held, dropped ones too, to the file, sorted by name", () => {
    const conversion = {
      tensors: [{ name: "model.norm.weight" }, { name: "lm_head.weight" }],
      droppedNames: { "model.embed_tokens.weight": "lm_head.weight" },
    } as unknown as SafetensorsConversion;
    expect(weightMapEntries(conversion, "model-00002-of-00002.safetensors")).toEqual([
      ["lm_head.weight", "model-00002-of-00002.safetensors"],
      ["model.embed_tokens.weight", "model-00002-of-00002.safetensors"],
      ["model.norm.weight", "model-00002-of-00002.safetensors"],
    ]);
  });
});
