import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Recipe } from "@model-recover/pipeline";
import { buildBelleShapedRelease, type BuiltRelease } from "../support/belle-shaped-release.js";
import { modelRecover, system } from "../support/cli.js";

/** Every file under `dir` with a digest of its content (symlinks by their target), to prove nothing changed. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isSymbolicLink()) result[path] = `-> ${await readlink(path)}`;
    else if (entry.isFile()) result[path] = createHash("sha256").update(await readFile(path)).digest("hex");
  }
  return result;
}

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
    ];
    for (const [name, change, message] of cases) {
      const run = await recoverWith(await variant(name, change), join(dir, `out-${name}`));
      expect(run.code, name).toBe(3);
      expect(run.stderr, name).toMatch(message);
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
});
