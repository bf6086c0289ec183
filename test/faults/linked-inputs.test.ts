import { cp, mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoDir, modelRecover, repoRoot, system, type CliRun } from "../support/cli.js";
import { snapshot } from "../support/snapshot.js";

// Issue 10: an input that is a link into --out, or an entry of --out that is a link to an input, is
// refused before anything is touched (outputs are published by rename, which would replace the input
// kept in --out); a content store whose folders are links, or that is a file, is refused in one line.
const PYTHON = "/usr/bin/python3";
const llamaReference = join(repoRoot, "packages", "llama-convert", "src", "test-support", "llama_reference.py");
const deltaReference = join(repoRoot, "packages", "pipeline", "src", "test-support", "delta_reference.py");
const OVERLAP = /so that nothing of yours is overwritten or removed$/;
const lastLine = (run: CliRun) => run.stderr.trim().split("\n").at(-1)!;

let dir: string;
/** Tiny LLaMA originals (tiny/ and tokenizer.model next to it) and a tiny add-delta pair (base/, delta/). */
let originals: string;
let pair: string;

async function python(script: string, args: string[]): Promise<void> {
  const run = await system(PYTHON, ["-B", script, ...args], repoRoot);
  if (run.code !== 0) throw new Error(`${script} ${args[0]} failed (is python3-torch installed?): ${run.stderr}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mr-linked-"));
  originals = join(dir, "llama");
  pair = join(dir, "pair");
  await python(llamaReference, ["originals", originals, "tiny", "1", "7", "64", "4", "2"]);
  await python(deltaReference, ["pair", pair, "21", "32000", String(10 ** 9), "5000000"]);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A fresh copy of `source` named `name` in a case folder of its own. */
async function copyOf(source: string, name: string): Promise<string> {
  const copy = join(dir, name);
  await cp(source, copy, { recursive: true, verbatimSymlinks: true });
  return copy;
}

/** `input` moved into the would-be output folder `out` as `asName`, and linked back where it was. */
async function keepInOut(input: string, out: string, asName: string): Promise<void> {
  await mkdir(out, { recursive: true });
  await rename(input, join(out, asName));
  await symlink(join(out, asName), input);
}

/** The run ends in one refusal line, exit 4, and not one file under the case folder changed. */
async function expectRefused(caseDir: string, run: () => Promise<CliRun>, message: RegExp): Promise<void> {
  const before = await snapshot(caseDir);
  const refused = await run();
  expect(refused.code, refused.stderr).toBe(4);
  expect(lastLine(refused)).toMatch(message);
  expect(lastLine(refused)).toMatch(OVERLAP);
  expect(refused.stderr).not.toMatch(/unexpected error|\n\s+at /);
  expect(await snapshot(caseDir)).toEqual(before);
}

describe("convert-llama never replaces an original kept in --out (issue 10, point 1)", () => {
  it("refuses a tokenizer.model or consolidated file that links into --out, before anything is written", async () => {
    const root = await copyOf(originals, "convert-in-out");
    const out = join(dir, "convert-in-out-out");
    await keepInOut(join(root, "tokenizer.model"), out, "tokenizer.model");
    await keepInOut(join(root, "tiny", "consolidated.00.pth"), out, "pytorch_model.bin");
    await expectRefused(dir, () => modelRecover(["convert-llama", join(root, "tiny"), "--out", out]), /: the output folder \(--out\) is the same as the folder that (tokenizer\.model|consolidated\.00\.pth) of the originals links into /);
  });

  it("refuses an --out whose entries link to the originals, at any depth", async () => {
    const root = await copyOf(originals, "convert-links-out");
    const cases: { out: string; link: string; target: string }[] = [
      { out: "links-flat", link: "pytorch_model.bin", target: join(root, "tiny", "consolidated.00.pth") },
      { out: "links-deep", link: join("old", "tokenizer.model"), target: join(root, "tokenizer.model") },
    ];
    for (const { out, link, target } of cases) {
      await mkdir(join(dir, out, "old"), { recursive: true });
      await symlink(target, join(dir, out, link));
      const message = new RegExp(`${out}/${link.replaceAll(".", "\\.")}: is a link in the output folder \\(--out\\) to .*, which (lies in the originals folder|is the original tokenizer\\.model) `);
      await expectRefused(dir, () => modelRecover(["convert-llama", join(root, "tiny"), "--out", join(dir, out)]), message);
    }
  });
});

describe("a chained recipe never replaces an original of its download kept in --out (issue 10, point 1)", () => {
  it("refuses the original download's consolidated file linked from --out before converting anything into the store", async () => {
    const root = await copyOf(originals, "chain-in-out");
    const out = join(dir, "chain-in-out-out");
    await keepInOut(join(root, "tiny", "consolidated.00.pth"), out, "pytorch_model.bin");
    const recipes = join(dir, "chain-recipes");
    await mkdir(recipes);
    const outputs = ["config.json", "generation_config.json", "pytorch_model.bin", "special_tokens_map.json", "tokenizer.model", "tokenizer_config.json"];
    const files = (names: string[]) => names.map((name) => ({ name, md5: null }));
    await writeFile(join(recipes, "tiny-hf.json"), JSON.stringify({ name: "tiny-hf", title: "tiny converted", pipeline: "convert-llama", base: { title: "tiny originals", model: "tiny", files: files(["consolidated.00.pth", "params.json", "tokenizer.model"]) }, files: files(outputs) }));
    await writeFile(join(recipes, "tiny-delta.json"), JSON.stringify({ name: "tiny-delta", title: "a delta on tiny", pipeline: "add-delta", base: { recipe: "tiny-hf" }, files: files(outputs) }));
    const store = join(dir, "chain-store");
    await expectRefused(dir, () => modelRecover(["recover", join(recipes, "tiny-delta.json"), "--base", root, "--enc", join(pair, "delta"), "--out", out, "--store", store]), /: the output folder \(--out\) is the same as the folder that consolidated\.00\.pth of the original download \(--base\) links into /);
    expect(await readdir(store).catch(() => [])).toEqual([]);
  });
});

describe("apply-delta and pack --format add-delta keep --out apart from every file of their folders (issue 10, point 2)", () => {
  it("apply-delta refuses a delta's tokenizer.model kept in --out and linked in", async () => {
    const caseDir = await copyOf(pair, "apply-in-out");
    const out = join(caseDir, "out");
    await keepInOut(join(caseDir, "delta", "tokenizer.model"), out, "tokenizer.model");
    await expectRefused(caseDir, () => modelRecover(["apply-delta", join(caseDir, "base"), join(caseDir, "delta"), "--out", out]), /out: the output folder \(--out\) is the same as the folder that tokenizer\.model in the delta folder links into /);
  });

  it("apply-delta refuses an --out holding a link to the base's weights", async () => {
    const caseDir = await copyOf(pair, "apply-links-out");
    const out = join(caseDir, "out");
    await mkdir(join(out, "sub"), { recursive: true });
    await symlink(join(caseDir, "base", "pytorch_model.bin"), join(out, "sub", "x.bin"));
    await symlink(join(caseDir, "delta"), join(out, "delta-link"));
    await expectRefused(caseDir, () => modelRecover(["apply-delta", join(caseDir, "base"), join(caseDir, "delta"), "--out", out]), /out\/(sub\/x\.bin|delta-link): is a link in the output folder \(--out\) to .*, which (lies in|is) the (base|delta) folder /);
  });

  it("pack --format add-delta refuses a fine-tuned model's config.json kept in --out and linked in", async () => {
    const caseDir = join(dir, "pack-in-out");
    const tuned = join(caseDir, "tuned");
    await mkdir(tuned, { recursive: true });
    await cp(join(pair, "base"), join(caseDir, "base"), { recursive: true });
    await cp(join(pair, "base", "pytorch_model.bin"), join(tuned, "pytorch_model.bin"));
    await cp(join(pair, "base", "config.json"), join(tuned, "config.json"));
    const out = join(caseDir, "out");
    await keepInOut(join(tuned, "config.json"), out, "config.json");
    await expectRefused(caseDir, () => modelRecover(["pack", "--format", "add-delta", "--model", tuned, "--base", join(caseDir, "base"), "--out", out, "--name", "linked"]), /out: the output folder \(--out\) is the same as the folder that config\.json in the fine-tuned model folder links into /);
  });
});

describe("the content store writes only inside itself (issue 10, point 3)", () => {
  const demo = (out: string, store: string) => modelRecover(["recover", "demo", "--base", join(demoDir, "base", "consolidated.00.pth"), "--enc", join(demoDir, "release"), "--out", out, "--store", store]);

  it("refuses --store naming a regular file in one line, exit 4, before recovering anything", async () => {
    const file = join(dir, "store-file");
    await writeFile(file, "not a store\n");
    const run = await demo(join(dir, "store-file-out"), file);
    expect(run.code, run.stderr).toBe(4);
    expect(lastLine(run)).toBe(`model-recover: ${file}: is not a folder, so it cannot be the content store (--store); pass a folder, or a path where one can be made`);
    expect(await readdir(join(dir, "store-file-out")).catch(() => "absent")).toBe("absent");
  });

  it("refuses a store whose folders are links into a folder of yours, which stays untouched", async () => {
    const first = await demo(join(dir, "store-first-out"), join(dir, "store-made"));
    expect(first.code, first.stderr).toBe(0);
    const store = join(dir, "store-linked");
    const yours = join(dir, "yours");
    await mkdir(store);
    await mkdir(yours);
    await writeFile(join(yours, "notes.txt"), "mine\n");
    for (const name of await readdir(join(dir, "store-made"))) await symlink(yours, join(store, name));
    const before = await snapshot(yours);
    const run = await demo(join(dir, "store-linked-out"), store);
    expect(run.code, run.stderr).toBe(4);
    expect(lastLine(run)).toMatch(/^model-recover: .*store-linked\/\w+: is not a folder \(a symlink\?\) in the content store; the store writes only inside itself: remove it and run again$/);
    expect(await snapshot(yours)).toEqual(before);
  });

  it("still uses a store whose recipes/ and made/ folders are links to another disk, which it never writes through", async () => {
    const store = join(dir, "store-moved");
    const disk = join(dir, "other-disk");
    for (const name of ["recipes", "made"]) {
      await mkdir(join(disk, name), { recursive: true });
      await mkdir(store, { recursive: true });
      await symlink(join(disk, name), join(store, name));
    }
    const run = await demo(join(dir, "store-moved-out"), store);
    expect(run.code, run.stderr).toBe(0);
    expect((await readdir(store)).filter((name) => /^[0-9a-f]{2}$/.test(name)).length).toBeGreaterThan(0);
    expect(await snapshot(disk)).toEqual({});
  });
});
