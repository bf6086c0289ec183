import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { python, pythonOk, SCRIPTS } from "../test-support/torch.js";
import { convertLlama, type ConvertLlamaOptions } from "./convert-llama.js";
import type { ConvertLlamaEvent } from "./llama-events.js";

// Tiny LLaMAs made by torch in Meta's layout (dim 512, 4 heads of 128 as in every published size,
// 2 layers, vocab 32000) in 1, 2 and 4 files, and their conversion by torch as the 2023 script made
// it. 40 MB shards split the 79 MB model in two, as 10 GB splits 30B in seven.
const MAX_SHARD_BYTES = 40_000_000;
const sha256 = async (path: string) => createHash("sha256").update(await readFile(path)).digest("hex");
const binFiles = async (dir: string) => (await readdir(dir)).filter((name) => name.endsWith(".bin") || name.endsWith(".index.json")).sort();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "convert-llama-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function convert(options: Omit<ConvertLlamaOptions, "maxShardBytes">, events: ConvertLlamaEvent[] = []) {
  return convertLlama({ maxShardBytes: MAX_SHARD_BYTES, onEvent: (event) => events.push(event), ...options });
}

describe.each([1, 2, 4])("converting tiny LLaMA originals in %i file(s) against torch 1.13.1", (shards) => {
  let root: string;
  let reference: string;
  beforeAll(async () => {
    root = join(dir, `llama-${shards}`);
    reference = join(dir, `reference-${shards}`);
    await pythonOk(SCRIPTS.llamaReference, ["originals", root, "tiny", String(shards), String(60 + shards)]);
    await pythonOk(SCRIPTS.llamaReference, ["reference", join(root, "tiny"), reference, String(MAX_SHARD_BYTES)]);
  }, 120_000);

  it("writes .bin shards and an index byte-identical to torch.save's and save_pretrained's", async () => {
    const out = join(dir, `out-${shards}`);
    const summary = await convert({ originals: join(root, "tiny"), outDir: out });
    expect(summary.ok).toBe(true);
    expect(await binFiles(out)).toEqual(["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin", "pytorch_model.bin.index.json"]);
    expect(await binFiles(out)).toEqual(await binFiles(reference));
    for (const name of await binFiles(reference)) expect(await sha256(join(out, name)), name).toBe(await sha256(join(reference, name)));
    expect(summary.folderProblems).toEqual([]);
  });

  it("reads back in torch.load equal to torch's conversion, every tensor bit for bit, rotary inv_freq included", async () => {
    const run = await python(SCRIPTS.llamaReference, ["compare", join(dir, `out-${shards}`), reference]);
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("ok: 2 shards, 23 tensors bit-identical");
  });

  it("writes safetensors shards that pass check-safetensors.py against torch's .bin shards", async () => {
    const out = join(dir, `safetensors-${shards}`);
    const summary = await convert({ originals: join(root, "tiny"), outDir: out, format: "safetensors" });
    expect(summary.files.map((f) => f.status === "verified" && f.file.name).slice(0, 3)).toEqual(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"]);
    const pairs = [1, 2].flatMap((i) => [join(out, `model-0000${i}-of-00002.safetensors`), "--bin", join(reference, `pytorch_model-0000${i}-of-00002.bin`)]);
    const check = await python(SCRIPTS.checkSafetensors, pairs);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
  });
});

describe("a dry run and a second run", () => {
  let originals: string;
  beforeAll(async () => {
    await pythonOk(SCRIPTS.llamaReference, ["originals", join(dir, "again"), "tiny", "2", "5"]);
    originals = join(dir, "again", "tiny");
  }, 120_000);

  it("writes in a dry run, from params.json alone, the small files and the index the conversion writes, byte for byte", async () => {
    const real = join(dir, "again-real");
    const dry = join(dir, "again-dry");
    await convert({ originals, outDir: real });
    const summary = await convert({ originals, outDir: dry, dryRun: true });
    expect(summary.notWritten.map((s) => s.name)).toEqual(["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"]);
    const written = (await readdir(dry)).filter((name) => !name.startsWith(".")).sort();
    expect(written).toEqual(["config.json", "generation_config.json", "pytorch_model.bin.index.json", "special_tokens_map.json", "tokenizer.model", "tokenizer_config.json"]);
    for (const name of written) expect(await sha256(join(dry, name)), name).toBe(await sha256(join(real, name)));
    expect(summary.notWritten.map((s) => s.bytes)).toEqual(await Promise.all(summary.notWritten.map(async (s) => (await readFile(join(real, s.name))).length)));
  });

  it("keeps every output an earlier run verified from the same originals, writing nothing again", async () => {
    const events: ConvertLlamaEvent[] = [];
    const summary = await convert({ originals, outDir: join(dir, "again-real") }, events);
    expect(summary.files.every((f) => f.status === "verified" && f.reused)).toBe(true);
    expect(events.filter((e) => e.type === "file-started")).toEqual([]);
  });

  it("continues an interrupted conversion with the next file, keeping those already published", async () => {
    const stop = new AbortController();
    const events: ConvertLlamaEvent[] = [];
    const interrupted = convertLlama({
      originals,
      outDir: join(dir, "again-stopped"),
      maxShardBytes: MAX_SHARD_BYTES,
      signal: stop.signal,
      onEvent: (event) => {
        events.push(event);
        if (event.type === "file-verified") stop.abort();
      },
    });
    await expect(interrupted).rejects.toMatchObject({ code: "INTERRUPTED" });
    expect(events.filter((e) => e.type === "file-verified").map((e) => e.type === "file-verified" && e.file.name)).toEqual(["pytorch_model-00001-of-00002.bin"]);
    const resumed: ConvertLlamaEvent[] = [];
    const summary = await convert({ originals, outDir: join(dir, "again-stopped") }, resumed);
    expect(summary.files.map((f) => f.status === "verified" && f.reused)).toEqual([true, false, false, false, false, false, false, false]);
    expect(resumed.filter((e) => e.type === "file-started").map((e) => e.type === "file-started" && e.name)[0]).toBe("pytorch_model-00002-of-00002.bin");
    for (const name of await binFiles(join(dir, "again-real"))) expect(await sha256(join(dir, "again-stopped", name)), name).toBe(await sha256(join(dir, "again-real", name)));
  });
});
