import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contiguousStateDict, writeTorchSave } from "@model-recover/torch-format";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { demoDir, modelRecover, repoRoot, startModelRecover, system } from "../support/cli.js";
import { partialDir } from "../support/state.js";

// Debian's python3-torch lives under /usr/bin/python3, not a pyenv or venv interpreter on PATH.
const PYTHON = "/usr/bin/python3";
const checker = join(repoRoot, "packages", "torch-format", "test-support", "check-safetensors.py");
const checkSafetensors = (folder: string, shards: string[]) =>
  system(PYTHON, ["-B", checker, ...shards.flatMap((bin) => [join(folder, bin.replace(/^pytorch_model/, "model").replace(/\.bin$/, ".safetensors")), "--bin", join(folder, bin)])], repoRoot);
const demoShards = ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"];
const safetensorsOf = (folder: string) => readdir(folder).then((names) => names.filter((n) => n.endsWith(".safetensors") || n === "model.safetensors.index.json").sort());

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mr-to-safetensors-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("recover --to safetensors: straight from the published patch to safetensors, checked against torch.load", () => {
  it("writes what check-safetensors.py accepts against the verified .bin files (--keep-bin), and the same bytes without them", async () => {
    const kept = join(dir, "kept");
    const run = await modelRecover(["recover", "demo", "--out", kept, "--to", "safetensors", "--keep-bin"]);
    expect(run.code, run.stderr).toBe(0);
    const check = await checkSafetensors(kept, demoShards);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/equal to the \.bin bit for bit[\s\S]*equal to the \.bin bit for bit/);
    expect(run.stdout).toMatch(/^model-00001-of-00002\.safetensors .* converted from pytorch_model-00001-of-00002\.bin, verified \(header sha256 \+ card md5\)$/m);

    const only = join(dir, "only");
    const plain = await modelRecover(["recover", "demo", "--out", only, "--to", "safetensors"]);
    expect(plain.code, plain.stderr).toBe(0);
    expect((await readdir(only)).filter((n) => n.startsWith("pytorch_model"))).toEqual([]);
    expect(await safetensorsOf(only)).toEqual(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"]);
    for (const name of await safetensorsOf(only)) expect(await readFile(join(only, name)), name).toEqual(await readFile(join(kept, name)));
    // What `convert` makes of the verified .bin files is the same, index included.
    const converted = join(dir, "converted");
    expect((await modelRecover(["convert", kept, "--out", converted])).code).toBe(0);
    for (const name of await safetensorsOf(only)) expect(await readFile(join(converted, name)), name).toEqual(await readFile(join(only, name)));
    expect((await modelRecover(["inspect", only])).code).toBe(0);

    const again = await modelRecover(["recover", "demo", "--out", only, "--to", "safetensors"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/all 9 files already verified: nothing to recover/);
  }, 120_000);

  it("publishes no safetensors of a shard whose .enc is corrupt (exit 5), and none of a .bin that is no torch checkpoint (exit 4)", async () => {
    const enc = join(dir, "enc");
    await mkdir(enc);
    for (const name of await readdir(join(demoDir, "release"))) await writeFile(join(enc, name), await readFile(join(demoDir, "release", name)));
    const shard = (await readdir(enc)).find((n) => n.startsWith("pytorch_model-00002"))!;
    const bytes = await readFile(join(enc, shard));
    bytes[200_000]! ^= 0xff;
    await writeFile(join(enc, shard), bytes);
    const out = join(dir, "corrupt");
    const run = await modelRecover(["recover", "demo", "--enc", enc, "--out", out, "--to", "safetensors"]);
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/pytorch_model-00002-of-00002\.bin did not verify/);
    expect(await readdir(out)).not.toContain("model-00002-of-00002.safetensors");
    expect(await readdir(partialDir(out))).toEqual([]);

    // A release whose .bin is noise: it verifies (it is what was published) but cannot be converted.
    const release = await packRelease("noise", [["pytorch_model.bin", xorshift32Bytes(9, 300_000)]]);
    const noise = await modelRecover(["recover", release.recipe, "--base", release.base, "--enc", release.enc, "--out", join(dir, "noise-out"), "--to", "safetensors"]);
    expect(noise.code).toBe(4);
    expect(noise.stderr.trim().split("\n").at(-1)).toMatch(/^model-recover: pytorch_model\.bin cannot be converted to safetensors: .*; recover it without --to safetensors$/);
    expect(await readdir(join(dir, "noise-out"))).not.toContain("model.safetensors");
  }, 120_000);

  it("resumes a killed conversion from its last durable point and ends with the same bytes as an uninterrupted run", async () => {
    const release = await packRelease("big", [["pytorch_model.bin", await torchCheckpoint(join(dir, "big.bin"))]]);
    const args = (out: string) => ["recover", release.recipe, "--base", release.base, "--enc", release.enc, "--out", out, "--to", "safetensors"];
    const straight = join(dir, "straight");
    expect((await modelRecover(args(straight))).code).toBe(0);
    const resumed = join(dir, "resumed");
    const env = { MODEL_RECOVER_CHECKPOINT_MB: "10" };
    const first = startModelRecover(args(resumed), { env });
    // Killed once it has made a resume point durable.
    while ((await readdir(partialDir(resumed)).catch(() => [])).every((n) => !n.endsWith(".json"))) await new Promise((r) => setTimeout(r, 5));
    first.child.kill("SIGKILL");
    await first.done;
    const second = await startModelRecover(args(resumed), { env }).done;
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resuming pytorch_model\.bin from/);
    // Compared by digest: a deep equality of two 50 MB buffers would take the test worker's memory.
    expect((await system("sha256sum", ["model.safetensors"], resumed)).stdout).toBe((await system("sha256sum", ["model.safetensors"], straight)).stdout);
  }, 180_000);
});

/** A release of `files` packed against the demo base by `pack`, as a publisher would make it. */
async function packRelease(name: string, files: [string, Uint8Array | string][]): Promise<{ recipe: string; base: string; enc: string }> {
  const model = join(dir, `${name}-model`);
  await mkdir(model);
  for (const [file, content] of files) await writeFile(join(model, file), typeof content === "string" ? await readFile(content) : content);
  await writeFile(join(model, "config.json"), '{"architectures": ["LlamaForCausalLM"]}\n');
  const base = join(demoDir, "base", "consolidated.00.pth");
  const enc = join(dir, `${name}-release`);
  const pack = await modelRecover(["pack", "--model", model, "--base", base, "--out", enc, "--name", name]);
  expect(pack.code, pack.stderr).toBe(0);
  return { recipe: join(enc, `${name}.recipe.json`), base, enc };
}

/** A real torch.save checkpoint of about 50 MB (five 2560×2048 fp16 tensors), so that a run has resume points. */
async function torchCheckpoint(path: string): Promise<string> {
  const tensors = Array.from({ length: 5 }, (_, i) => ({ name: `model.layers.${i}.mlp.up_proj.weight`, dtype: "F16" as const, shape: [2560, 2048] }));
  await writeTorchSave(path, contiguousStateDict(tensors), async function* (index) {
    yield xorshift32Bytes(100 + index, 2560 * 2048 * 2);
  });
  expect((await stat(path)).size).toBeGreaterThan(50_000_000);
  return path;
}
