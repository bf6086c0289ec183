import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contiguousStateDict } from "@model-recover/torch-format";
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

  it("a tensor name carrying terminal controls is shown escaped, in the text and in the JSON", async () => {
    const path = join(dir, "controls.bin");
    await writeCheckpoint(path, contiguousStateDict([{ name: "evil\x1b[2J\r\u202ename", dtype: "F16", shape: [2] }]), 32);
    const text = await modelRecover(["inspect", path]);
    expect(text.stdout).toContain("  evil\\x1b[2J\\r\\u202ename  F16");
    const json = await modelRecover(["inspect", path, "--json"]);
    expect(json.stdout).toContain('"name": "evil\\u001b[2J\\r\\u202ename"');
    for (const run of [text, json]) expect(run.stdout).not.toMatch(/[\x1b\r\u202e]/);
    expect((JSON.parse(json.stdout) as { files: { tensors: { name: string }[] }[] }).files[0]!.tensors[0]!.name).toBe("evil\x1b[2J\r\u202ename");
  });
});
