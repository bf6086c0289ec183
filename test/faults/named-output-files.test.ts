import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile, lstat } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliRun } from "../support/cli.js";
import { runWithin } from "../support/run-within.js";
import { packSmallRelease, type SmallRelease } from "../support/small-release.js";

const lastLine = (run: CliRun) => run.stderr.trim().split("\n").at(-1)!;

describe("an option naming one output file (pack --recipe, recipe from-folder --out) that cannot be a file there: one line, exit 4, nothing written (issue 10)", () => {
  let dir: string;
  let release: SmallRelease;
  let server: Server;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-named-out-"));
    release = await packSmallRelease(join(dir, "release"), { "config.json": '{"model_type": "llama"}\n', "pytorch_model.bin": 100_000 });
    execFileSync("mkfifo", [join(dir, "fifo")]);
    server = createServer().listen(join(dir, "socket"));
    await mkdir(join(dir, "folder"));
    await writeFile(join(dir, "plain"), "a file, not a folder\n");
  }, 120_000);
  afterAll(async () => {
    server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const cases: [string, string, RegExp][] = [
    ["a FIFO", "fifo", /fifo: is a FIFO \(named pipe\), where the recipe would be written as a file; remove it or pass another --FLAG$/],
    ["a socket", "socket", /socket: is a socket, where the recipe would be written as a file; remove it or pass another --FLAG$/],
    ["a folder", "folder", /folder: is a folder, where the recipe would be written as a file; remove it or pass another --FLAG$/],
    ["a missing folder", "missing/recipe.json", /missing\/recipe\.json: the folder \S+\/missing does not exist; create it or pass another --FLAG$/],
    ["a file as its folder", "plain/recipe.json", /plain\/recipe\.json: \S+\/plain is a file, not a folder; pass another --FLAG$/],
  ];
  const pack = (recipe: string, out: string) => runWithin(["pack", "--model", release.modelDir, "--base", release.basePath, "--out", out, "--name", "small", "--recipe", recipe]);
  const fromFolder = (out: string) => runWithin(["recipe", "from-folder", release.encDir, "--name", "small", "--out", out]);

  for (const [what, name, message] of cases) {
    it(`refuses ${what} before any work`, async () => {
      const packed = await pack(join(dir, name), join(dir, "packed"));
      const made = await fromFolder(join(dir, name));
      for (const [run, flag] of [[packed, "recipe"], [made, "out"]] as const) {
        expect(run.hung, flag).toBe(false);
        expect(run.code, `${flag}: ${run.stderr}`).toBe(4);
        expect(run.stderr, flag).not.toMatch(/\n\s+at /);
        expect(lastLine(run), flag).toMatch(new RegExp(`^model-recover: \\S*${message.source.replace("FLAG", flag)}`));
      }
      expect(packed.stderr).not.toMatch(/^packing /m);
      expect(await readdir(dir)).not.toContain("packed");
      expect((await lstat(join(dir, "fifo"))).isFIFO()).toBe(true);
      expect((await lstat(join(dir, "socket"))).isSocket()).toBe(true);
      expect(await readdir(join(dir, "folder"))).toEqual([]);
    });
  }

  it("recipe from-folder refuses an --out that is a payload of the release or the md5 list it reads, leaving both as they were", async () => {
    const list = join(dir, "card.md5");
    await writeFile(list, "d41d8cd98f00b204e9800998ecf8427e  ./config.json\n");
    const payload = join(release.encDir, (await readdir(release.encDir)).find((name) => name.endsWith(".enc"))!);
    const before = await readFile(payload);
    for (const [out, message] of [[payload, /is inside the release folder/], [list, /is the same as the md5 list \(--md5\)/]] as const) {
      const run = await runWithin(["recipe", "from-folder", release.encDir, "--name", "small", "--md5", list, "--out", out]);
      expect(run.code, run.stderr).toBe(4);
      expect(lastLine(run)).toMatch(new RegExp(`^model-recover: \\S+: the recipe file \\(--out\\) ${message.source}`));
    }
    expect(await readFile(payload)).toEqual(before);
    expect(await readFile(list, "utf8")).toBe("d41d8cd98f00b204e9800998ecf8427e  ./config.json\n");
  });

  it("replaces a symlink at the name, never writing through it", async () => {
    const victim = join(dir, "victim.json");
    await writeFile(victim, "do not touch\n");
    for (const [flag, run] of [
      ["pack", (link: string) => pack(link, join(dir, "packed-link"))],
      ["from-folder", (link: string) => fromFolder(link)],
    ] as const) {
      const link = join(dir, `link-${flag}.json`);
      await symlink(victim, link);
      const result = await run(link);
      expect(result.code, result.stderr).toBe(0);
      expect((await lstat(link)).isFile(), flag).toBe(true);
      expect(JSON.parse(await readFile(link, "utf8"))).toMatchObject({ name: "small" });
    }
    expect(await readFile(victim, "utf8")).toBe("do not touch\n");
    await expect(readlink(join(dir, "link-pack.json"))).rejects.toMatchObject({ code: "EINVAL" });
  }, 60_000);
});
