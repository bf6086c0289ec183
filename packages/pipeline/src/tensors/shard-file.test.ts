import { execFileSync } from "node:child_process";
import { convertGeometry, KNOWN_LLAMA_SIZES, parseParams, planTensors, shardCheckpoint, shardIndexJson } from "@model-recover/llama-convert";
import { describe, expect, it } from "vitest";
import { hfIndexFile, shardFileName } from "./shard-file.js";

const size = KNOWN_LLAMA_SIZES[2];
const params = parseParams(`{"dim": ${size.dim}, "multiple_of": 256, "n_heads": ${size.nHeads}, "n_layers": ${size.nLayers}, "norm_eps": 1e-06, "vocab_size": -1}`, "30B/params.json");
const shards = shardCheckpoint(planTensors(convertGeometry(params, size.shards, "30B")));

// convert.py's convert_multi, restated: the .bin index loaded, each shard renamed, json.dump(indent=4).
const CONVERT_MULTI = `
import json, os, sys
def rename(pt_filename):
    filename, ext = os.path.splitext(pt_filename)
    return f"{filename}.safetensors".replace("pytorch_model", "model")
data = json.loads(sys.stdin.read())
newdata = {k: v for k, v in data.items()}
newdata["weight_map"] = {k: rename(v) for k, v in data["weight_map"].items()}
sys.stdout.write(json.dumps(newdata, indent=4))
`;

describe("shard files and their index", () => {
  it("names safetensors shards as convert.py renames save_pretrained's", () => {
    expect(shards.map((s) => shardFileName(s, "safetensors"))).toEqual(Array.from({ length: 7 }, (_, i) => `model-0000${i + 1}-of-00007.safetensors`));
  });

  it("writes model.safetensors.index.json as convert.py's convert_multi does from LLaMA-30B's .bin index", () => {
    const binIndex = shardIndexJson(shards)!;
    expect(hfIndexFile(shards, "bin")).toEqual({ name: "pytorch_model.bin.index.json", text: binIndex });
    const python = execFileSync("/usr/bin/python3", ["-c", CONVERT_MULTI], { input: binIndex, encoding: "utf8" });
    expect(hfIndexFile(shards, "safetensors")).toEqual({ name: "model.safetensors.index.json", text: python });
  });

  it("writes no index for a single shard", () => {
    expect(hfIndexFile(shardCheckpoint(planTensors(convertGeometry(params, size.shards, "30B")), 1e12), "safetensors")).toBeUndefined();
  });
});
