import { execFileSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHfFolder, describeProblem, type FolderProblem } from "./hf-folder.js";

const LLAMA_CONFIG = { architectures: ["LlamaForCausalLM"], hidden_size: 64, num_hidden_layers: 3, model_type: "llama" };
const BIN_INDEX = "pytorch_model.bin.index.json";
const temporaryDirs: string[] = [];

afterEach(async () => {
  await Promise.all(temporaryDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

function shardName(number: number, total: number): string {
  return `pytorch_model-${String(number).padStart(5, "0")}-of-${String(total).padStart(5, "0")}.bin`;
}

/** Layer i of a `total`-layer model lives in shard i, as transformers' sharding would put it. */
function weightMapFor(shards: string[]): Record<string, string> {
  return Object.fromEntries(
    shards.flatMap((shard, layer) => [
      [`model.layers.${layer}.self_attn.q_proj.weight`, shard],
      [`model.layers.${layer}.mlp.up_proj.weight`, shard],
    ]),
  );
}

/** A recovered folder: config.json, an index naming `total` shards, and the shards (with seeded bytes). */
function recoveredFolder(total: number): Record<string, string | Buffer> {
  const shards = Array.from({ length: total }, (_, position) => shardName(position + 1, total));
  const files: Record<string, string | Buffer> = {
    "config.json": JSON.stringify(LLAMA_CONFIG),
    [BIN_INDEX]: JSON.stringify({ metadata: { total_size: total * 16 }, weight_map: weightMapFor(shards) }),
  };
  for (const [seed, shard] of shards.entries()) files[shard] = Buffer.alloc(16, seed + 1);
  return files;
}

async function folderWith(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hf-layout-"));
  temporaryDirs.push(dir);
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

function without(files: Record<string, string | Buffer>, name: string): Record<string, string | Buffer> {
  const { [name]: _removed, ...rest } = files;
  return rest;
}

describe("checkHfFolder", () => {
  it("accepts a recovered 3-shard folder and lists its shards and config", async () => {
    const report = await checkHfFolder(await folderWith(recoveredFolder(3)));
    expect(report).toEqual({
      ok: true,
      problems: [],
      shards: [shardName(1, 3), shardName(2, 3), shardName(3, 3)],
      config: LLAMA_CONFIG,
    });
  });

  it("accepts a single pytorch_model.bin without an index", async () => {
    const dir = await folderWith({ "config.json": "{}", "pytorch_model.bin": Buffer.alloc(8) });
    expect(await checkHfFolder(dir)).toEqual({ ok: true, problems: [], shards: ["pytorch_model.bin"], config: {} });
  });

  it("reports a shard the index names that is not on disk", async () => {
    const report = await checkHfFolder(await folderWith(without(recoveredFolder(3), shardName(2, 3))));
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([{ kind: "shard-missing", shard: shardName(2, 3) }]);
    expect(report.problems.map(describeProblem)).toEqual(["pytorch_model-00002-of-00003.bin is missing (shard 2 of 3)"]);
  });

  it("reports a missing config.json, and a config.json that is not a JSON object", async () => {
    const folder = recoveredFolder(1);
    const missing = await checkHfFolder(await folderWith(without(folder, "config.json")));
    expect(missing.problems).toEqual([{ kind: "config-missing" }]);
    expect(missing.config).toBeUndefined();

    const cases: Array<[string, string]> = [
      ["{ not json", "config.json is not valid JSON ("],
      ["[1, 2]", "config.json must hold a JSON object, found an array"],
      ["null", "config.json must hold a JSON object, found null"],
      ['"llama"', "config.json must hold a JSON object, found a string"],
    ];
    for (const [content, description] of cases) {
      const report = await checkHfFolder(await folderWith({ ...folder, "config.json": content }));
      expect(report.problems, content).toEqual([{ kind: "config-invalid", reason: expect.any(String) }]);
      expect(describeProblem(report.problems[0]!)).toContain(description);
      expect(report.ok).toBe(false);
    }
  });

  it("reports a config.json that is a FIFO or a folder instead of reading it (a FIFO would wait forever)", async () => {
    const dir = await folderWith(without(recoveredFolder(1), "config.json"));
    execFileSync("mkfifo", [join(dir, "config.json")]);
    const fifo = await checkHfFolder(dir);
    expect(describeProblem(fifo.problems[0]!)).toBe("config.json is a FIFO (named pipe), expected the JSON file as a regular file");
    await rm(join(dir, "config.json"));
    await mkdir(join(dir, "config.json"));
    expect(describeProblem((await checkHfFolder(dir)).problems[0]!)).toBe("config.json is a folder, expected the JSON file as a regular file");
  });

  it("refuses an index that names ../x.bin and never looks outside the folder", async () => {
    const parent = await folderWith({ "x.bin": Buffer.alloc(4) });
    const dir = join(parent, "model");
    await mkdir(dir);
    const weightMap = { "model.embed_tokens.weight": "../x.bin", "lm_head.weight": "../x.bin" };
    await writeFile(join(dir, "config.json"), "{}");
    await writeFile(join(dir, BIN_INDEX), JSON.stringify({ weight_map: weightMap }));
    const report = await checkHfFolder(dir);
    expect(report.ok).toBe(false);
    expect(report.shards).toEqual([]);
    expect(report.problems.map(describeProblem)).toEqual([
      'pytorch_model.bin.index.json maps "model.embed_tokens.weight" to "../x.bin", which must be a plain file name (no / \\ or ..)',
    ]);
  });

  it("reports an index that does not parse or has no object weight_map", async () => {
    const cases: Array<[string, string]> = [
      ["{", "pytorch_model.bin.index.json is not valid JSON ("],
      ["{}", 'pytorch_model.bin.index.json has no object "weight_map" (found nothing)'],
      ['{"weight_map": []}', 'pytorch_model.bin.index.json has no object "weight_map" (found an array)'],
      ['{"weight_map": {}}', 'pytorch_model.bin.index.json has an empty "weight_map"; it names no shard'],
      ['{"weight_map": {"w": 3}}', 'pytorch_model.bin.index.json maps "w" to a number, not a shard file name'],
    ];
    for (const [content, description] of cases) {
      const report = await checkHfFolder(await folderWith({ "config.json": "{}", [BIN_INDEX]: content }));
      expect(report.problems, content).toEqual([{ kind: "index-invalid", reason: expect.any(String) }]);
      expect(describeProblem(report.problems[0]!)).toContain(description);
    }
  });

  it("reports a gap in the -of-0000M series even when the index forgets that shard too", async () => {
    const folder = without(recoveredFolder(3), shardName(2, 3));
    folder[BIN_INDEX] = JSON.stringify({ weight_map: weightMapFor([shardName(1, 3), shardName(3, 3)]) });
    const report = await checkHfFolder(await folderWith(folder));
    expect(report.problems).toEqual([{ kind: "shard-missing", shard: shardName(2, 3) }]);
  });

  it("reports a shard on disk that the index does not name", async () => {
    const folder = { ...recoveredFolder(3), [shardName(1, 2)]: Buffer.alloc(4) };
    const report = await checkHfFolder(await folderWith(folder));
    expect(report.problems).toContainEqual({ kind: "shard-unlisted", shard: shardName(1, 2) });
    expect(describeProblem({ kind: "shard-unlisted", shard: shardName(1, 2) })).toBe(
      "pytorch_model-00001-of-00002.bin is on disk but pytorch_model.bin.index.json does not name it",
    );
    // A stray from another series also exposes that series' gap.
    expect(report.problems).toContainEqual({ kind: "shard-missing", shard: shardName(2, 2) });
  });

  it("reports shards on disk without the index that transformers needs to load them", async () => {
    const report = await checkHfFolder(await folderWith(without(without(recoveredFolder(3), BIN_INDEX), shardName(3, 3))));
    expect(report.problems.map(describeProblem)).toEqual([
      "pytorch_model.bin.index.json is missing, yet 2 pytorch_model-*.bin file(s) are on disk that only it can list",
      "pytorch_model-00003-of-00003.bin is missing (shard 3 of 3)",
    ]);
    expect(report.shards).toEqual([shardName(1, 3), shardName(2, 3)]);
  });

  it("refuses a series name that cannot belong to its own series instead of expanding it", async () => {
    const absurd = "pytorch_model-00001-of-99999999.bin";
    const folder = { "config.json": "{}", [BIN_INDEX]: JSON.stringify({ weight_map: { w: absurd } }), [absurd]: "" };
    const report = await checkHfFolder(await folderWith(folder));
    expect(report.problems).toEqual([
      { kind: "index-invalid", reason: `pytorch_model.bin.index.json names ${absurd}, which cannot be a member of its own series` },
    ]);
  });

  it("checks a model.safetensors.index.json against model-*.safetensors", async () => {
    const shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
    const folder = {
      "config.json": "{}",
      "model.safetensors.index.json": JSON.stringify({ weight_map: weightMapFor(shards) }),
      [shards[0]!]: Buffer.alloc(4),
    };
    const report = await checkHfFolder(await folderWith(folder));
    expect(report.problems).toEqual([{ kind: "shard-missing", shard: shards[1] }]);
    expect(report.shards).toEqual(shards);
  });

  it("follows symlinks, as in the Hugging Face cache where snapshot files link to blobs", async () => {
    const dir = await folderWith(without(recoveredFolder(1), shardName(1, 1)));
    await writeFile(join(dir, "blob"), Buffer.alloc(4));
    await symlink(join(dir, "blob"), join(dir, shardName(1, 1)));
    expect((await checkHfFolder(dir)).ok).toBe(true);
  });

  it("throws when the folder itself does not exist", async () => {
    await expect(checkHfFolder(join(tmpdir(), "hf-layout-no-such-folder"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("describeProblem", () => {
  it("gives one line that names the file", () => {
    const problems: Array<[FolderProblem, string]> = [
      [{ kind: "config-missing" }, "config.json is missing"],
      [{ kind: "shard-missing", shard: "weights-a.bin" }, "weights-a.bin is missing (named by pytorch_model.bin.index.json)"],
      [{ kind: "shard-missing", shard: "w.safetensors" }, "w.safetensors is missing (named by model.safetensors.index.json)"],
    ];
    for (const [problem, line] of problems) expect(describeProblem(problem)).toBe(line);
  });
});
