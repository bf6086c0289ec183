import { execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelRecover, repoRoot, system } from "../support/cli.js";
import { treeSnapshot } from "../support/tree-snapshot.js";

// Wrong, damaged and hostile originals: each is refused with one line naming the file and what to
// do, exit 4, before any long work; nothing is written outside --out (which is not even created).
const PYTHON = "/usr/bin/python3";
const reference = join(repoRoot, "packages", "llama-convert", "src", "test-support", "llama_reference.py");
const makeCheckpoints = join(repoRoot, "packages", "torch-format", "test-support", "make_checkpoints.py");

let dir: string;
let inputs: string;
let before: Record<string, string>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mr-convert-faults-"));
  inputs = join(dir, "inputs");
  for (const [model, shards] of [["two", "2"], ["four", "4"]] as const) {
    const run = await system(PYTHON, ["-B", reference, "originals", inputs, model, shards, shards], repoRoot);
    if (run.code !== 0) throw new Error(`llama_reference.py failed (is python3-torch installed?): ${run.stderr}`);
  }
  before = await treeSnapshot(inputs);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A download root holding a copy of `model`'s originals (and tokenizer.model), changed by `change`. */
async function download(name: string, model: "two" | "four", change: (folder: string) => Promise<unknown>): Promise<string> {
  const root = join(dir, "cases", name);
  await mkdir(root, { recursive: true });
  await cp(join(inputs, model), join(root, model), { recursive: true });
  await cp(join(inputs, "tokenizer.model"), join(root, "tokenizer.model"));
  await change(join(root, model));
  return join(root, model);
}

/** Converts `originals` and expects the refusal `message` (a RegExp over the one error line), exit 4, and no --out made. */
async function refused(originals: string, message: RegExp, out = join(dir, "out", String(Math.random()).slice(2))): Promise<void> {
  const existed = await stat(out).then(() => true, () => false);
  const run = await modelRecover(["convert-llama", originals, "--out", out]);
  const errors = run.stderr.split("\n").filter((line) => line.startsWith("model-recover:"));
  expect(errors, run.stderr).toHaveLength(1);
  expect(run.stderr.trimEnd().split("\n").at(-1)).toBe(errors[0]);
  expect(errors[0]).toMatch(message);
  expect(run.code).toBe(4);
  if (!existed) await expect(stat(out)).rejects.toMatchObject({ code: "ENOENT" });
}

describe("convert-llama refuses wrong originals before any long work", () => {
  it("a params.json that lies about the dimensions: the shapes in the pickles say otherwise", async () => {
    const folder = await download("lying-dim", "two", (f) => writeFile(join(f, "params.json"), '{"dim": 1024, "multiple_of": 256, "n_heads": 8, "n_layers": 2, "norm_eps": 1e-06, "vocab_size": -1}'));
    await refused(folder, new RegExp(`^model-recover: ${folder}/consolidated\\.00\\.pth: tok_embeddings\\.weight is \\[32000, 256\\], but params\\.json \\(dim 1024, 8 heads, 2 layers, 2 shards, .*params\\.json\\) implies \\[32000, 512\\] in each of its 2 file\\(s\\); it looks like one of 2 shards of a model of dim 512$`));
  });

  it("a params.json that lies about the layers: a tensor it needs is not there", async () => {
    const folder = await download("lying-layers", "two", (f) => writeFile(join(f, "params.json"), '{"dim": 512, "multiple_of": 256, "n_heads": 4, "n_layers": 3, "norm_eps": 1e-06, "vocab_size": -1}'));
    await refused(folder, /consolidated\.00\.pth: has no tensor layers\.2\.attention\.wq\.weight, which params\.json \(dim 512, 4 heads, 3 layers, 2 shards, .*\) needs; it looks like one of 2 shards of a model of dim 512$/);
  });

  it("a missing shard, named, with the series the model comes as", async () => {
    const folder = await download("missing", "four", (f) => rm(join(f, "consolidated.02.pth")));
    await refused(folder, new RegExp(`^model-recover: ${folder}/consolidated\\.02\\.pth: missing; params\\.json describes no published size, so the files must be consolidated\\.00\\.pth onwards with none missing \\(check the download against its checklist\\.chk\\)$`));
  });

  it("a missing shard of a published size, from params.json alone (LLaMA-30B comes as 4 files)", async () => {
    const folder = join(dir, "cases", "30b", "30B");
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, "params.json"), '{"dim": 6656, "multiple_of": 256, "n_heads": 52, "n_layers": 60, "norm_eps": 1e-06, "vocab_size": -1}');
    for (const i of [0, 1, 2]) await writeFile(join(folder, `consolidated.0${i}.pth`), "");
    await refused(folder, /30B\/consolidated\.03\.pth: missing; LLaMA-30B comes as 4 files, consolidated\.00\.pth to consolidated\.03\.pth/);
  });

  it("a shard of another model: its shapes say which", async () => {
    const folder = await download("stranger", "two", (f) => cp(join(inputs, "four", "consolidated.01.pth"), join(f, "consolidated.01.pth")));
    await refused(folder, /two\/consolidated\.01\.pth: tok_embeddings\.weight is \[32000, 128\], but params\.json \(dim 512, 4 heads, 2 layers, 2 shards, .*\) implies \[32000, 256\] in each of its 2 file\(s\); it looks like one of 4 shards of a model of dim 512$/);
  });

  it.each([
    ["consolidated.01.pth", "original checkpoint"],
    ["params.json", "params.json"],
    ["tokenizer.model", "tokenizer.model"],
  ])("a FIFO as %s, at once instead of waiting for a writer", async (name, what) => {
    const folder = await download(`fifo-${name}`, "two", async (f) => {
      const path = name === "tokenizer.model" ? join(f, "..", name) : join(f, name);
      await rm(path);
      execFileSync("mkfifo", [path]);
    });
    await refused(folder, new RegExp(`${name.replaceAll(".", "\\.")}: is a FIFO \\(named pipe\\), expected the ${what} as a regular file$`));
  }, 20_000);

  it("a truncated shard, by its zip structure", async () => {
    const folder = await download("truncated", "two", async (f) => truncate(join(f, "consolidated.01.pth"), Math.floor((await stat(join(f, "consolidated.01.pth"))).size / 2)));
    await refused(folder, /two\/consolidated\.01\.pth: .*(truncated|end record)/);
  });

  it("a shard whose pickle would run a command under torch.load: refused by name, nothing run", async () => {
    const hostile = join(dir, "hostile");
    const markers = join(dir, "markers");
    await mkdir(markers, { recursive: true });
    await mkdir(hostile, { recursive: true });
    await system(PYTHON, ["-B", makeCheckpoints, "hostile", hostile, markers], repoRoot);
    const folder = await download("pickle", "two", (f) => cp(join(hostile, "os-system.bin"), join(f, "consolidated.00.pth")));
    await refused(folder, /consolidated\.00\.pth: .*names the global os\.system, which no state dict needs; refused, nothing was run/);
    expect(await readdir(markers)).toEqual([]);
  });

  it("an output folder inside the originals, or holding them (the download root, where tokenizer.model is)", async () => {
    const folder = join(inputs, "two");
    await refused(folder, /the output folder \(--out\) is inside the originals folder/, join(folder, "hf"));
    await refused(folder, /the output folder \(--out\) contains the originals folder/, inputs);
  });
});

describe("convert-llama writes nothing outside --out", () => {
  it("replaces links planted in --out instead of writing through them", async () => {
    const out = join(dir, "planted");
    const victim = join(dir, "victim.txt");
    await writeFile(victim, "do not touch\n");
    await mkdir(out, { recursive: true });
    await symlink(victim, join(out, "config.json"));
    await symlink(victim, join(out, "pytorch_model.bin"));
    const run = await modelRecover(["convert-llama", join(inputs, "two"), "--out", out]);
    expect(run.code).toBe(0);
    expect(await readFile(victim, "utf8")).toBe("do not touch\n");
    for (const name of ["config.json", "pytorch_model.bin"]) expect((await stat(join(out, name))).isFile()).toBe(true);
  });

  it("leaves every original as it was, whatever was refused above", async () => {
    expect(await treeSnapshot(inputs)).toEqual(before);
  });
});
