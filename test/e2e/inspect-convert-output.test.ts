import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { llamaConfig, llamaTensors, tiedStateDict, writeCheckpoint } from "../../packages/pipeline/src/inspect/test-support/llama-folder.js";
import { modelRecover } from "../support/cli.js";

/** A LLaMA of one layer with a tied lm_head: every kind of line inspect and convert print, in a page. */
const DIMS = { hidden: 8, intermediate: 12, layers: 1, heads: 2, vocab: 8 };

const normalized = (text: string, folder: string) => text.replaceAll(folder, "<folder>").replace(/in \d+(\.\d+)? s\)/g, "in <t> s)").replace(/room: (.*) needed, .* free/g, "room: $1 needed, <free> free");

describe("what inspect and convert print (snapshots: the text people read, and the --json shape the README documents)", () => {
  let dir: string;
  let folder: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-inspect-output-"));
    folder = join(dir, "tied");
    await mkdir(folder);
    await writeFile(join(folder, "config.json"), JSON.stringify(llamaConfig(DIMS, { tie_word_embeddings: true })));
    await writeCheckpoint(join(folder, "pytorch_model.bin"), tiedStateDict(llamaTensors(DIMS)), 31);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("inspect, convert in place, inspect again: text and JSON", async () => {
    const before = await modelRecover(["inspect", folder]);
    expect(before.code, before.stderr).toBe(0);
    expect(normalized(before.stdout, folder)).toMatchSnapshot("inspect: a tied .bin");
    const converted = await modelRecover(["convert", folder]);
    expect(converted.code, converted.stderr).toBe(0);
    expect(normalized(converted.stderr, folder)).toMatchSnapshot("convert: stderr");
    expect(normalized(converted.stdout, folder)).toMatchSnapshot("convert: stdout");
    const after = await modelRecover(["inspect", folder, "--json"]);
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(normalized(after.stdout, folder))).toMatchSnapshot("inspect --json: both formats");
  });

  it("an inconsistent folder: every problem listed, exit 4", async () => {
    await writeFile(join(folder, "config.json"), JSON.stringify(llamaConfig({ ...DIMS, vocab: 9 })));
    const run = await modelRecover(["inspect", folder]);
    expect(run.code).toBe(4);
    const text = normalized(run.stdout, folder);
    expect(text.slice(text.indexOf("\npytorch weights:") + 1)).toMatchSnapshot("the end: totals, verdict, problems");
  });
});
