import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTensorRecipe, type KnownOutput, type LoadedTensorRecipe, loadRecipe, OutputStore } from "@model-recover/pipeline";
import { recordMade } from "./made-record.js";
import { putBackTensorOutputs } from "./tensor-hit.js";

// A cache hit of the Vicuna recipe (no md5 published for any output), from files the store holds as
// verified. Base and delta do not exist, so a recipe that has to run again fails at once (exit 4).
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("a tensor recipe's cache hit stands only on what the store recorded, and leaves nothing when it fails", () => {
  let dir: string;
  let loaded: LoadedTensorRecipe;
  const known = new Map<string, KnownOutput>();
  const digest = "d".repeat(64);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tensor-hit-"));
    const recipe = await loadRecipe("vicuna-7b-v1.1");
    if (!isTensorRecipe(recipe)) throw new Error("vicuna-7b-v1.1 is no tensor recipe");
    loaded = recipe;
    const store = new OutputStore(join(dir, "store"));
    await mkdir(join(dir, "made"));
    for (const { name } of loaded.recipe.files) {
      const text = `${name} as verified\n`;
      await writeFile(join(dir, "made", name), text);
      await store.add(join(dir, "made", name), sha256(text), text.length);
      known.set(name, { size: text.length, sha256: sha256(text) });
    }
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function hit(out: string, receipt: Map<string, KnownOutput>, enc = join(dir, "no-delta"), base = join(dir, "no-base")) {
    let stderr = "";
    const sink = (keep: boolean) =>
      new Writable({
        write(chunk, _encoding, done) {
          if (keep) stderr += String(chunk);
          done();
        },
      });
    const paths = { base, enc, out };
    const args = ["vicuna-7b-v1.1", "--base", paths.base, "--enc", paths.enc, "--out", out, "--store", join(dir, "store")];
    const context = { cwd: dir, env: {}, stdin: Readable.from([]), stdout: sink(false), stderr: sink(true) };
    const code = await putBackTensorOutputs({ loaded, known: receipt, digest, store: join(dir, "store"), paths, args, to: "bin" }, context);
    const left = (await readdir(out).catch(() => [])).filter((name) => !name.startsWith("."));
    return { code, stderr, left };
  }

  it("runs the recipe again, putting nothing back, when the store has no record of making the outputs from these inputs", async () => {
    const run = await hit(join(dir, "out-unrecorded"), known);
    expect(run.stderr).toMatch(/^model-recover: turbo cache hit, but its receipt cannot stand for vicuna-7b-v1\.1's outputs \(the store has no record of making it from these inputs\); running the delta again$/m);
    expect(run.code).toBe(4);
    expect(run.left).toEqual([]);
  });

  it("refuses a receipt that names another verified file than the one recorded", async () => {
    await recordMade(join(dir, "store"), digest, { ok: true, recipe: "vicuna-7b-v1.1", files: [...known].map(([name, file]) => ({ name, ...file })) });
    const swapped = new Map(known);
    swapped.set("config.json", known.get("tokenizer_config.json")!);
    const run = await hit(join(dir, "out-swapped"), swapped);
    expect(run.stderr).toMatch(/\(its config\.json is not the one the store recorded making from these inputs\); running the delta again$/m);
    expect(run.left).toEqual([]);
  });

  it("removes what it put back when that is no whole Hugging Face folder and the run that follows fails", async () => {
    const run = await hit(join(dir, "out-not-hf"), known);
    expect(run.stderr).toMatch(/turbo cache hit, but what it put back is not the recipe's output \(config\.json is not valid JSON .*\); running the delta again$/m);
    expect(run.code).toBe(4);
    expect(run.left).toEqual([]);
  });

  it("removes what it put back when the store has lost a file and the run that follows fails", async () => {
    await rm(join(dir, "store", known.get("config.json")!.sha256.slice(0, 2)), { recursive: true });
    const run = await hit(join(dir, "out-partial"), known);
    expect(run.stderr).toMatch(/turbo cache hit, but the store no longer holds config\.json as verified; running the delta again$/m);
    expect(run.code).toBe(4);
    expect(run.left).toEqual([]);
  });

  it("refuses a delta folder whose file is kept in --out and linked in, before putting anything back (issue 10, point 1)", async () => {
    const out = join(dir, "out-holding-input");
    const delta = join(dir, "linked-delta");
    const base = join(dir, "empty-base");
    for (const folder of [out, delta, base]) await mkdir(folder);
    await writeFile(join(out, "tokenizer.model"), "the delta's tokenizer, kept here\n");
    await symlink(join(out, "tokenizer.model"), join(delta, "tokenizer.model"));
    await recordMade(join(dir, "store"), digest, { ok: true, recipe: "vicuna-7b-v1.1", files: [...known].map(([name, file]) => ({ name, ...file })) });
    const run = await hit(out, known, delta, base);
    expect(run.code).toBe(4);
    expect(run.stderr).toBe(`model-recover: ${out}: the output folder (--out) is the same as the folder that (delta)/tokenizer.model links into ${out}; pass an output apart from every input, so that nothing of yours is overwritten or removed\n`);
    expect(run.left).toEqual(["tokenizer.model"]);
    expect(await readFile(join(out, "tokenizer.model"), "utf8")).toBe("the delta's tokenizer, kept here\n");
  });
});
