import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPipeline, type TensorPipelineDefinition } from "../recipe/pipelines.js";
import type { LoadedTensorRecipe } from "../recipe/types.js";
import { pythonOk, SCRIPTS } from "../test-support/torch.js";
import { convertLlama } from "./convert-llama.js";
import type { ConvertLlamaEvent } from "./llama-events.js";

// A recipe for a tiny LLaMA, written here as a recipe for LLaMA-30B is: the originals' md5s (its
// base) and the converted files' md5s (its files), taken from a first conversion.
const md5 = async (path: string) => createHash("md5").update(await readFile(path)).digest("hex");

let dir: string;
let originals: string;
let published: Map<string, string>;
let inputs: Map<string, string>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "convert-published-"));
  await pythonOk(SCRIPTS.llamaReference, ["originals", dir, "tiny", "1", "9"]);
  originals = join(dir, "tiny");
  const first = await convertLlama({ originals, outDir: join(dir, "first") });
  const names = first.files.map((f) => (f.status === "verified" ? f.file.name : f.name));
  published = new Map(await Promise.all(names.map(async (name) => [name, await md5(join(dir, "first", name))] as [string, string])));
  inputs = new Map([
    ["consolidated.00.pth", await md5(join(originals, "consolidated.00.pth"))],
    ["params.json", await md5(join(originals, "params.json"))],
    ["tokenizer.model", await md5(join(dir, "tokenizer.model"))],
  ]);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function recipe(changes: { outputs?: Record<string, string | null>; inputs?: Record<string, string>; size?: number } = {}): Promise<LoadedTensorRecipe> {
  const outputs = { ...Object.fromEntries(published), "tokenizer.json": "fdb311c39b8659a5d5c1991339bafc09", ...changes.outputs };
  const baseFiles = [...inputs].map(([name, digest]) => ({ name, md5: changes.inputs?.[name] ?? digest, ...(name === "consolidated.00.pth" && changes.size ? { size: changes.size } : {}) }));
  const base = { title: "tiny LLaMA originals", model: "tiny", files: baseFiles };
  const pipeline = (await loadPipeline("convert-llama", "test")) as TensorPipelineDefinition;
  const files = Object.entries(outputs).map(([name, digest]) => ({ name, md5: digest }));
  return { recipe: { name: "tiny-hf", title: "tiny LLaMA converted", pipeline: "convert-llama", base, files }, base, pipeline, file: "tiny-hf.json", root: dir };
}

describe("a conversion checked against published hashes", () => {
  it("hashes every input against its published md5 before writing, and checks every output against the card", async () => {
    const summary = await convertLlama({ originals: dir, outDir: join(dir, "checked"), recipe: await recipe() });
    expect(summary.ok).toBe(true);
    expect(summary.inputs.map((i) => [i.name, i.md5])).toEqual(["params.json", "tokenizer.model", "consolidated.00.pth"].map((name) => [name, inputs.get(name)]));
    expect(summary.files.every((f) => f.status === "verified" && f.file.checks.includes("card-md5"))).toBe(true);
    expect(summary.notMade).toEqual([{ name: "tokenizer.json", md5: "fdb311c39b8659a5d5c1991339bafc09", why: expect.stringContaining("Rust tokenizers converter") }]);
  });

  it("stops before the output folder exists when an original's md5 is not the published one", async () => {
    const out = join(dir, "wrong-input");
    const wrong = await recipe({ inputs: { "consolidated.00.pth": "0".repeat(32) } });
    await expect(convertLlama({ originals: dir, outDir: out, recipe: wrong })).rejects.toMatchObject({
      code: "ORIGINALS_WRONG",
      message: `${join(originals, "consolidated.00.pth")}: md5 ${inputs.get("consolidated.00.pth")}, but a LLaMA-shaped model (dim 512, 4 heads, 2 layers)'s published consolidated.00.pth has md5 ${"0".repeat(32)}; the file is damaged or not the published one: download it again (and check it with the download's checklist.chk)`,
    });
    await expect(stat(out)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses an original of another size than the published one at once, without hashing anything", async () => {
    const events: ConvertLlamaEvent[] = [];
    const wrong = await recipe({ size: 13476939516 });
    await expect(convertLlama({ originals: dir, outDir: join(dir, "wrong-size"), recipe: wrong, onEvent: (e) => events.push(e) })).rejects.toMatchObject({ code: "ORIGINALS_WRONG", message: expect.stringMatching(/consolidated\.00\.pth: \d+ bytes, but .* has 13476939516; the file is truncated or not the published one/) });
    expect(events.filter((e) => e.type === "input-progress")).toEqual([]);
  });

  it("does not publish an output whose md5 is not the card's, and publishes the others", async () => {
    const out = join(dir, "wrong-output");
    const summary = await convertLlama({ originals: dir, outDir: out, recipe: await recipe({ outputs: { "pytorch_model.bin": "0".repeat(32) } }) });
    expect(summary.ok).toBe(false);
    expect(summary.files.find((f) => f.status === "failed")).toMatchObject({ name: "pytorch_model.bin", code: "VERIFY_FAILED", message: expect.stringContaining(`card (tiny-hf) says ${"0".repeat(32)}`) });
    await expect(stat(join(out, "pytorch_model.bin"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(summary.files.filter((f) => f.status === "verified").length).toBe(5);
  });

  it("with the shape check alone, lists the published md5s without hashing the originals", async () => {
    const summary = await convertLlama({ originals: dir, outDir: join(dir, "shapes-only"), recipe: await recipe(), verify: "shapes" });
    expect(summary.inputs.every((i) => i.md5 === undefined && i.published !== null)).toBe(true);
    expect(summary.ok).toBe(true);
  });
});
