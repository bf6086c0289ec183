import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Recipe } from "@model-recover/pipeline";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { buildBelleShapedRelease, type BuiltRelease } from "../support/belle-shaped-release.js";
import { packSmallRelease, renameInRelease } from "../support/small-release.js";
import { modelRecover, system } from "../support/cli.js";
import { runWithin } from "../support/run-within.js";
import { snapshot } from "../support/snapshot.js";
import { stateId } from "../support/state.js";

describe("hostile recipes and planted files: rejected or defused, and nothing outside the output folder changes", () => {
  let dir: string;
  let release: BuiltRelease;
  let outside: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-hostile-"));
    release = await buildBelleShapedRelease(join(dir, "inputs"), { shardBytes: 3_000_000 });
    // What an attacker would like to overwrite: files and a folder next to the output folder.
    outside = join(dir, "outside");
    await mkdir(join(outside, "folder"), { recursive: true });
    await writeFile(join(outside, "victim.txt"), "do not touch\n");
    await writeFile(join(dir, "passwd"), "root:x:0:0\n");
    before = await snapshot(outside);
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function variant(name: string, change: (recipe: Recipe) => unknown): Promise<string> {
    const path = join(dir, `${name}.json`);
    const recipe = structuredClone(release.recipe);
    await writeFile(path, JSON.stringify(change(recipe) ?? recipe));
    return path;
  }
  const recoverWith = (recipe: string, out: string) => modelRecover(["recover", recipe, "--base", release.basePath, "--enc", release.encDir, "--out", out]);
  const errorLine = (stderr: string) => stderr.trim().split("\n").at(-1)!;

  const hostileNames = ["../escape.bin", "../../outside/victim.txt", "a/b.bin", "a\\b.bin", "x\u0000y", "/etc/passwd", "C:evil", "con.json", "NUL", "lpt1.txt", "trailing.", ""];
  for (const name of hostileNames) {
    it(`rejects a file named ${JSON.stringify(name)} with exit 3, naming the JSON path`, async () => {
      const recipe = await variant(`name-${createHash("md5").update(name).digest("hex")}`, (r) => {
        r.files[1]!.name = name;
      });
      const out = join(dir, "out-name");
      const run = await recoverWith(recipe, out);
      expect(run.code).toBe(3);
      expect(errorLine(run.stderr)).toMatch(/: \/files\/1\/name: /);
      expect(await readdir(dir)).not.toContain("out-name");
      expect(await snapshot(outside)).toEqual(before);
    });
  }

  it("rejects absurd sizes, duplicate and case-folded names, and deep nesting with exit 3", async () => {
    const cases: [string, (r: Recipe) => unknown, RegExp][] = [
      ["huge-size", (r) => {
          r.files[1]!.size = 2 ** 52;
        }, /\/files\/1\/size: 4503599627370496 is more than 1099511627776, the largest allowed \(1 TiB\)/],
      ["duplicate", (r) => {
          r.files[2]!.name = r.files[1]!.name;
        }, /appears twice/],
      ["case-folded", (r) => {
          r.files[2]!.name = r.files[1]!.name.toUpperCase();
        }, /is the same file as "[^"]*" on case-insensitive or normalizing file systems/],
      ["ten-thousand-and-one", (r) => ({ ...r, files: Array.from({ length: 10_001 }, (_, i) => ({ name: `f${i}`, md5: null, encMd5: null })) }), /\/files: .*must NOT have more than 10000 items/],
      ["two-terabytes", (r) => {
          r.files[1]!.size = 2_000_000_000_000;
        }, /\/files\/1\/size: 2000000000000 is more than 1099511627776, the largest allowed \(1 TiB\)$/],
      ["negative-size", (r) => {
          r.files[1]!.size = -1;
        }, /\/files\/1\/size: -1 must be at least 0$/],
      ["256-characters", (r) => {
          r.files[1]!.name = "a".repeat(256);
        }, /\/files\/1\/name: "a{56}\.\.\. is 256 characters long; at most 255 are allowed$/],
      ["two-bad-sizes", (r) => {
          r.files[1]!.size = -1;
          r.files[2]!.size = -2;
        }, /^model-recover: \S+two-bad-sizes\.json: \/files\/1\/size: -1 must be at least 0; \/files\/2\/size: -2 must be at least 0$/],
      ["300-bytes", (r) => {
          r.files[1]!.name = "模".repeat(100);
        }, /\/files\/1\/name: "模{100}" must be at most 255 bytes in UTF-8, found 300$/],
    ];
    for (const [name, change, message] of cases) {
      const run = await recoverWith(await variant(name, change), join(dir, `out-${name}`));
      expect(run.code, name).toBe(3);
      expect(errorLine(run.stderr), name).toMatch(message);
    }
    const deep = join(dir, "deep.json");
    await writeFile(deep, `{"name":"d","files":${"[".repeat(100_000)}${"]".repeat(100_000)}}`);
    const run = await recoverWith(deep, join(dir, "out-deep"));
    expect(run.code).toBe(3);
    expect(errorLine(run.stderr)).toMatch(/deep\.json: (\/: nested more than 16 levels deep|not valid JSON)/);
    expect(await snapshot(outside)).toEqual(before);
  });

  it("refuses a recipe of a million files before reading it whole", async () => {
    const path = join(dir, "million.json");
    const files = Array.from({ length: 1_000_000 }, (_, i) => `{"name":"f${i}","md5":null}`).join(",");
    await writeFile(path, `{"name":"m","title":"m","pipeline":"xor-enc","base":"llama-7b","files":[${files}]}`);
    const run = await recoverWith(path, join(dir, "out-million"));
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/million\.json: \d+ bytes is too big for a recipe/);
  });

  it("replaces a symlink planted under a final name instead of writing through it", async () => {
    const out = join(dir, "out-planted");
    await mkdir(out, { recursive: true });
    await symlink(join(outside, "victim.txt"), join(out, "config.json"));
    await symlink(join(outside, "victim.txt"), join(out, ".tokenizer.model.model-recover-partial"));
    const run = await recoverWith(release.recipePath, out);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/removed config\.json from the output folder: it was there but did not verify/);
    expect(await snapshot(outside)).toEqual(before);
    await writeFile(join(dir, "plain.md5"), (await system("sh", ["-c", "md5sum ./*"], release.plainDir)).stdout);
    expect((await system("md5sum", ["-c", join(dir, "plain.md5")], out)).code).toBe(0);
  });

  it("neither hangs on nor trusts a FIFO planted as the lock, the receipts or a resume record in the state folder", async () => {
    for (const planted of ["lock", "receipts.json", `partial/${stateId("config.json")}.json`]) {
      const out = join(dir, `out-fifo-${planted.length}`);
      await mkdir(join(out, ".model-recover", "partial"), { recursive: true });
      execFileSync("mkfifo", [join(out, ".model-recover", planted)]);
      const run = await runWithin(["recover", release.recipePath, "--base", release.basePath, "--enc", release.encDir, "--out", out]);
      expect(run.hung, planted).toBe(false);
      expect(run.code, `${planted}: ${run.stderr}`).toBe(0);
    }
  });

  it("refuses a state folder planted as a symlink to somewhere else", async () => {
    for (const planted of [".model-recover", ".model-recover/partial"]) {
      const out = join(dir, `out-state-${planted.length}`);
      await mkdir(join(out, ".model-recover"), { recursive: true });
      if (planted === ".model-recover") await rm(join(out, ".model-recover"), { recursive: true });
      await symlink(join(outside, "folder"), join(out, planted));
      const run = await recoverWith(release.recipePath, out);
      expect(run.code, planted).toBe(4);
      expect(errorLine(run.stderr)).toMatch(/is not a folder \(a symlink\?\); remove it and run again/);
    }
    expect(await snapshot(outside)).toEqual(before);
  });

  it("refuses names a case-insensitive, normalizing file system takes for one, and the state folder's name, with exit 3", async () => {
    const pairs: [string, string][] = [
      ["caf\u00e9.json", "cafe\u0301.json"], // NFC and NFD: one file on macOS
      ["a\u03c3.bin", "A\u03c2.bin"], // final and medial sigma fold together
      ["\u017f.bin", "S.bin"], // long s upper-cases to S
    ];
    for (const [first, second] of pairs) {
      const run = await recoverWith(await variant(`pair-${first.length}-${second.codePointAt(0)}`, (r) => {
        r.files[1]!.name = first;
        r.files[2]!.name = second;
      }), join(dir, "out-pair"));
      expect(run.code, first).toBe(3);
      expect(errorLine(run.stderr), first).toMatch(/^model-recover: .*: \/files\/2\/name: ".*" is the same file as ".*" on case-insensitive or normalizing file systems \(macOS, Windows\); each file must be named once$/);
    }
    for (const name of [".model-recover", ".Model-Recover"]) {
      const run = await recoverWith(await variant(`state-${name}`, (r) => {
        r.files[1]!.name = name;
      }), join(dir, "out-state-name"));
      expect(run.code, name).toBe(3);
      expect(errorLine(run.stderr)).toMatch(/\/files\/1\/name: "\.[Mm]odel-[Rr]ecover" is the name of model-recover's own state folder; a release cannot use it$/);
    }
    expect(await readdir(dir)).not.toContain("out-pair");
    expect(await snapshot(outside)).toEqual(before);
  });

  it("refuses the names of the download's and pack's own folders in any case, for recover and download alike, with exit 3", async () => {
    const owned: [string, string][] = [
      [".model-recover-download", "download state folder"],
      [".MODEL-RECOVER-DOWNLOAD", "download state folder"],
      [".model-recover-round-trip", "pack's round-trip folder"],
    ];
    for (const [name, what] of owned) {
      const recipe = await variant(`own-${name}`, (r) => {
        r.files[1]!.name = name;
        r.hub = { repo: "model-recover-tests/unused" };
      });
      const message = new RegExp(`/files/1/name: "${name.replaceAll(".", "\\.")}" is the name of model-recover's own ${what}; a release cannot use it$`);
      const recovered = await recoverWith(recipe, join(dir, "out-own"));
      const downloaded = await modelRecover(["download", recipe, "--to", join(dir, "out-own")], { env: { HF_ENDPOINT: "http://127.0.0.1:9" } });
      for (const run of [recovered, downloaded]) {
        expect(run.code, name).toBe(3);
        expect(errorLine(run.stderr), name).toMatch(message);
      }
    }
    expect(await readdir(dir)).not.toContain("out-own");
  });

  it("prints no terminal control character that a recipe's title, a file name or a release folder holds", async () => {
    const small = await packSmallRelease(join(dir, "controls"), { "config.json": "{}\n", "tokenizer.model": 200_000 });
    // C1 controls and bidi overrides are valid in file names; ESC, BEL and CR are not, but may be in a title or an extra file.
    await renameInRelease(small, "tokenizer.model", "tok\u009b2J\u202eenizer.model");
    await writeFile(small.recipePath, JSON.stringify({ ...JSON.parse(await readFile(small.recipePath, "utf8")), title: "\u001b[2J\u001b]0;owned\u0007evil\rtitle" }));
    await writeFile(join(small.encDir, "\u001b[31mextra\r.txt"), "not part of the release");
    const run = await modelRecover(["recover", small.recipePath, "--base", small.basePath, "--enc", small.encDir, "--out", join(dir, "out-controls")]);
    expect(run.code, run.stderr).toBe(0);
    const shown = run.stdout + run.stderr;
    expect(shown).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(shown).toContain("\\x1b[2J\\x1b]0;owned\\x07evil\\rtitle");
    expect(shown).toContain("tok\\x9b2J\\u202eenizer.model");
    expect(shown).toContain("left alone: \\x1b[31mextra\\r.txt");
  });

  it("publishes a file named like another file's temporary name with its own bytes, run after run (issue 10, point 1)", async () => {
    const small = await packSmallRelease(join(dir, "temp-names"), { "x.bin": 2_000_000, "y.bin": 1_500_000 });
    // `.x.bin.model-recover-partial` was where x.bin was written before it verified.
    await renameInRelease(small, "y.bin", ".x.bin.model-recover-partial");
    const md5 = async (path: string) => (await system("md5sum", [path], dir)).stdout.slice(0, 32);
    const runs = ["out-temp-1", "out-temp-2", "out-temp-3", "out-temp-1"];
    for (const [index, folder] of runs.entries()) {
      const out = join(dir, folder);
      const run = await modelRecover(["recover", small.recipePath, "--base", small.basePath, "--enc", small.encDir, "--out", out]);
      expect(run.code, run.stderr).toBe(0);
      if (index === 3) expect(run.stderr).toMatch(/all 2 files already verified: nothing to recover/);
      expect(await md5(join(out, "x.bin")), folder).toBe(await md5(join(small.modelDir, "x.bin")));
      expect(await md5(join(out, ".x.bin.model-recover-partial")), folder).toBe(await md5(join(small.modelDir, "y.bin")));
    }
  });

  it("proves the key on the smallest file that is not empty, so a wrong base is named before anything is written (issue 10, point 12)", async () => {
    const small = await packSmallRelease(join(dir, "empty-file"), { "added_tokens.json": "", "config.json": "{}\n", "pytorch_model.bin": 300_000 });
    // An empty file decrypts to the same empty file under any key: it proves nothing.
    const wrongBase = join(dir, "wrong-base.pth");
    await writeFile(wrongBase, xorshift32Bytes(99, (await stat(small.basePath)).size));
    const out = join(dir, "out-empty-probe");
    const run = await modelRecover(["recover", small.recipePath, "--base", wrongBase, "--enc", small.encDir, "--out", out]);
    expect(run.code, run.stderr).toBe(4);
    expect(errorLine(run.stderr)).toMatch(/^model-recover: \S+wrong-base\.pth: not the key for a small release \(decrypting config\.json gave sha256 [0-9a-f]{12}…, its header says [0-9a-f]{12}…\); use base\.pth \(md5 [0-9a-f]{32}\)$/);
    expect(await readdir(dir)).not.toContain("out-empty-probe");
  });

  it("packs no hidden file of the model folder, as recipe from-folder leaves them out (a leftover temporary file is not part of a model)", async () => {
    const model = join(dir, "hidden-model");
    await mkdir(model, { recursive: true });
    await writeFile(join(model, "config.json"), "{}\n");
    await writeFile(join(model, ".config.json.model-recover-partial"), "half a config");
    await writeFile(join(model, ".DS_Store"), "finder");
    await writeFile(join(dir, "hidden-base.pth"), "k".repeat(4096));
    const run = await modelRecover(["pack", "--model", model, "--base", join(dir, "hidden-base.pth"), "--out", join(dir, "hidden-enc"), "--name", "hidden"]);
    expect(run.code, run.stderr).toBe(0);
    const recipe = JSON.parse(await readFile(join(dir, "hidden-enc", "hidden.recipe.json"), "utf8")) as Recipe;
    expect(recipe.files.map((f) => f.name)).toEqual(["config.json"]);
    expect((await readdir(join(dir, "hidden-enc"))).filter((n) => n.startsWith("."))).toEqual([]);
  });
});
