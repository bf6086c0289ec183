import { mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packRelease } from "@model-recover/pipeline";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { modelRecover, type CliRun } from "../support/cli.js";
import { packSmallRelease, type SmallRelease } from "../support/small-release.js";
import { snapshot } from "../support/snapshot.js";

const lastLine = (run: CliRun) => run.stderr.trim().split("\n").at(-1)!;
const OVERLAP = /pass an output apart from every input, so that nothing of yours is overwritten or removed$/;

describe("an output folder that is, lies in or holds an input is refused before anything is touched (issue 10, points 4 and 7)", () => {
  let dir: string;
  /** xor-codec (spec §2): keyed by a base folder whose same-named files the output would overwrite. */
  let codec: { model: string; base: string; enc: string; recipe: string };
  /** xor-enc (spec §1) with a README in clear whose md5 the card does not publish. */
  let enc: SmallRelease;
  let inputs: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-overlap-"));
    codec = { model: join(dir, "codec-model"), base: join(dir, "llama-30b-hf"), enc: join(dir, "codec-enc"), recipe: join(dir, "codec.json") };
    for (const folder of [codec.model, codec.base]) await mkdir(folder);
    for (const [index, name] of ["config.json", "pytorch_model-00001-of-00001.bin"].entries()) {
      await writeFile(join(codec.model, name), xorshift32Bytes(10 + index, 300_000));
      await writeFile(join(codec.base, name), xorshift32Bytes(20 + index, 200_000));
    }
    await packRelease({ modelDir: codec.model, basePath: codec.base, outDir: codec.enc, name: "codec", format: "xor-codec", recipePath: codec.recipe });
    enc = await packSmallRelease(join(dir, "enc"), { "README.md": "# a model\n", "pytorch_model.bin": 400_000 }, { clear: ["README.md"] });
    const recipe = JSON.parse(await readFile(enc.recipePath, "utf8"));
    recipe.files.find((f: { name: string }) => f.name === "README.md").md5 = null;
    await writeFile(enc.recipePath, JSON.stringify(recipe));
    await symlink(codec.enc, join(dir, "codec-enc-link"));
    inputs = await snapshot(dir);
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Each run ends in one line naming how its output overlaps which input, exit 4, and no file under `dir` changed. */
  async function expectRefused(cases: [string, Promise<CliRun>, RegExp][]): Promise<void> {
    for (const [what, running, relation] of cases) {
      const run = await running;
      expect(run.code, `${what}: ${run.stderr}`).toBe(4);
      expect(lastLine(run), what).toMatch(new RegExp(`^model-recover: [^\\n]*${relation.source}[^\\n]*${OVERLAP.source}`));
      expect(await snapshot(dir), what).toEqual(inputs);
    }
  }

  it("recover refuses --out equal to, inside or holding --enc or --base, by real path, with exit 4 and nothing changed", async () => {
    const codecRun = (out: string) => modelRecover(["recover", codec.recipe, "--base", codec.base, "--enc", codec.enc, "--out", out]);
    const cases: [string, Promise<CliRun>, RegExp][] = [
      ["--out the base folder", codecRun(codec.base), /the output folder \(--out\) is the same as the base \(--base\)/],
      ["--out the release folder", codecRun(codec.enc), /the output folder \(--out\) is the same as the release folder \(--enc\)/],
      ["--out a link to the release folder", codecRun(join(dir, "codec-enc-link")), /the output folder \(--out\) is the same as the release folder \(--enc\)/],
      ["--out a new folder inside the release folder", codecRun(join(codec.enc, "out", "deeper")), /the output folder \(--out\) is inside the release folder \(--enc\)/],
      ["--out a folder holding the base", codecRun(dir), /the output folder \(--out\) contains the release folder \(--enc\)/],
      ["xor-enc, --enc X --out X", modelRecover(["recover", enc.recipePath, "--base", enc.basePath, "--enc", enc.encDir, "--out", enc.encDir]), /is the same as the release folder \(--enc\)/],
    ];
    await expectRefused(cases);
  });

  it("recover refuses --out that holds a file an input links to (a download or a base file kept there and linked in)", async () => {
    // Move one payload and one base file into would-be output folders, and link them back.
    for (const [folder, target] of [[codec.enc, "codec-out-enc"], [codec.base, "codec-out-base"]] as const) {
      await mkdir(join(dir, target));
      await rename(join(folder, "config.json"), join(dir, target, "config.json"));
      await symlink(join(dir, target, "config.json"), join(folder, "config.json"));
    }
    const linked = await snapshot(dir);
    const run = (out: string) => modelRecover(["recover", codec.recipe, "--base", codec.base, "--enc", codec.enc, "--out", join(dir, out)]);
    try {
      for (const [out, what] of [["codec-out-enc", "release folder \\(--enc\\)"], ["codec-out-base", "base \\(--base\\)"]] as const) {
        const refused = await run(out);
        expect(refused.code, refused.stderr).toBe(4);
        expect(lastLine(refused)).toMatch(new RegExp(`^model-recover: [^\\n]*codec-out-\\w+: the output folder \\(--out\\) is the same as the folder that config\\.json in the ${what} links into [^\\n]*${OVERLAP.source}`));
        expect(await snapshot(dir)).toEqual(linked);
      }
    } finally {
      for (const [folder, target] of [[codec.enc, "codec-out-enc"], [codec.base, "codec-out-base"]] as const) {
        await rm(join(folder, "config.json"));
        await rename(join(dir, target, "config.json"), join(folder, "config.json"));
        await rm(join(dir, target), { recursive: true });
      }
    }
  });

  it("pack refuses --out equal to, inside or holding --model or --base, and a --recipe inside them, with exit 4 and nothing changed", async () => {
    const pack = (out: string, extra: string[] = [], base = codec.base) => modelRecover(["pack", "--model", codec.model, "--base", base, "--out", out, "--name", "again", "--format", "xor-codec", ...extra]);
    const cases: [string, Promise<CliRun>, RegExp][] = [
      ["--out the model folder", pack(codec.model), /the release folder \(--out\) is the same as the model folder \(--model\)/],
      ["--out holding the model folder", pack(dir), /the release folder \(--out\) contains the model folder \(--model\)/],
      ["--base B --out B", pack(codec.base), /the release folder \(--out\) is the same as the base \(--base\)/],
      ["--recipe inside the model folder", pack(join(dir, "again-enc"), ["--recipe", join(codec.model, "again.json")]), /the recipe file \(--recipe\) is inside the model folder \(--model\)/],
    ];
    await expectRefused(cases);
    // A model file kept in the would-be release folder and linked in would be encrypted over itself.
    const linkedModel = join(dir, "linked-model");
    await mkdir(linkedModel);
    await symlink(join(codec.model, "config.json"), join(linkedModel, "config.json"));
    inputs = await snapshot(dir);
    const linkedRun = modelRecover(["pack", "--model", linkedModel, "--base", codec.base, "--out", codec.model, "--name", "again", "--format", "xor-codec"]);
    await expectRefused([["--out where a model file really is", linkedRun, /the release folder \(--out\) is the same as the folder that config\.json in the model folder \(--model\) links into/]]);
  });

  it("pack writes every file fresh: links planted in --out under the names it writes lead nowhere outside", async () => {
    const out = join(dir, "planted-out");
    const outside = join(dir, "outside");
    await mkdir(out);
    await mkdir(outside);
    const shard = "pytorch_model-00001-of-00001.bin";
    const planted = ["planted.md5", "planted.enc.md5", "planted.recipe.json", "README.md", shard, ".model-recover-round-trip"];
    for (const name of planted) {
      await writeFile(join(outside, name), "do not touch\n");
      await symlink(join(outside, name), join(out, name));
    }
    const model = join(dir, "plain-model");
    await mkdir(model);
    await writeFile(join(model, "README.md"), "# plain\n");
    await writeFile(join(model, shard), xorshift32Bytes(3, 100_000));
    const before = await snapshot(outside);
    const run = await modelRecover(["pack", "--model", model, "--base", codec.base, "--out", out, "--name", "planted", "--format", "xor-codec", "--clear", "README.md"]);
    expect(run.code, run.stderr).toBe(0);
    expect(await snapshot(outside)).toEqual(before);
    for (const name of ["planted.md5", "planted.enc.md5", "planted.recipe.json", "README.md", shard]) {
      expect((await readFile(join(out, name), "utf8")).includes("do not touch"), name).toBe(false);
    }
  });

  it("pack refuses a bad --name or an unknown --format as bad usage (exit 2) before it encrypts anything", async () => {
    const out = join(dir, "refused-out");
    for (const [flag, value, message] of [
      ["--name", "Bad Name", /^model-recover: --name "Bad Name" must be lowercase letters, digits, \. _ - \(like belle-13b-2m\)$/],
      ["--format", "xor-foo", /^model-recover: --format "xor-foo" is not a pipeline in pipelines\/ \(known: xor-codec, xor-codec-gzip, xor-enc, xor-prefix\)$/],
    ] as const) {
      const args = { "--name": "fine", "--format": "xor-codec", [flag]: value };
      const run = await modelRecover(["pack", "--model", codec.model, "--base", codec.base, "--out", out, ...Object.entries(args).flat()]);
      expect(run.code, run.stderr).toBe(2);
      expect(lastLine(run)).toMatch(message);
      expect(run.stderr).not.toMatch(/^packing /m);
    }
    expect(await readdir(dir)).not.toContain("refused-out");
  });

  it("pack --format add-delta refuses a bad --name as bad usage (exit 2) too, as the XOR formats do, before it reads anything", async () => {
    const run = await modelRecover(["pack", "--format", "add-delta", "--model", codec.model, "--base", codec.base, "--out", join(dir, "refused-delta"), "--name", "Bad"]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toBe('model-recover: --name "Bad" must be lowercase letters, digits, . _ - (like belle-13b-2m)\n');
    expect(await readdir(dir)).not.toContain("refused-delta");
  });

  it("pack refuses, before encrypting anything, a model file whose payload name would pass 255 bytes (exit 4, one line)", async () => {
    const model = join(dir, "long-names");
    await mkdir(model);
    await writeFile(join(model, "config.json"), "{}\n");
    await writeFile(join(model, `${"a".repeat(200)}.bin`), "weights");
    const run = await modelRecover(["pack", "--model", model, "--base", enc.basePath, "--out", join(dir, "long-out"), "--name", "long"]);
    expect(run.code, run.stderr).toBe(4);
    expect(lastLine(run)).toMatch(/^model-recover: \S+\/a{200}\.bin: its payload would be named <name>\.<sha256>\.enc in 273 bytes, more than the 255 a file name may have; rename it to at most 186 bytes$/);
    expect(run.stderr).not.toMatch(/^packing /m);
    expect(await readdir(dir)).not.toContain("long-out");
  });
});
