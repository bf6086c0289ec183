import { execFileSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system, type CliRun } from "../support/cli.js";
import { runWithin } from "../support/run-within.js";
import { packSmallRelease, type SmallRelease } from "../support/small-release.js";

const lastLine = (run: CliRun) => run.stderr.trim().split("\n").at(-1)!;

describe("inputs that are links, pipes, devices or long names: followed, refused in one line, or recovered", () => {
  let dir: string;
  let release: SmallRelease;
  const recover = (extra: { base?: string; enc?: string; out: string; recipe?: string }, more: string[] = []) =>
    runWithin(["recover", extra.recipe ?? release.recipePath, "--base", extra.base ?? release.basePath, "--enc", extra.enc ?? release.encDir, "--out", extra.out, ...more]);
  const md5 = async (path: string) => (await system("md5sum", [path], dir)).stdout.slice(0, 32);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-special-"));
    release = await packSmallRelease(join(dir, "release"), { "config.json": '{"model_type": "llama"}\n', "pytorch_model.bin": 1_200_000 });
    execFileSync("mkfifo", [join(dir, "fifo")]);
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("refuses a FIFO, a socket or a device as the base, the config or the recipe at once, in one line with exit 4 (issue 10, point 9)", async () => {
    const socket = join(dir, "socket");
    const server = createServer().listen(socket);
    try {
      const fifo = join(dir, "fifo");
      const cases: [string, Promise<CliRun & { hung: boolean }>, RegExp][] = [
        ["base FIFO", recover({ base: fifo, out: join(dir, "out-fifo") }), /fifo: is a FIFO \(named pipe\), expected the base checkpoint as a regular file/],
        ["base socket", recover({ base: socket, out: join(dir, "out-socket") }), /socket: is a socket, expected the base checkpoint as a regular file/],
        ["base device", recover({ base: "/dev/zero", out: join(dir, "out-device") }), /\/dev\/zero: is a device, expected the base checkpoint as a regular file/],
        ["config FIFO", recover({ out: join(dir, "out-config") }, ["--config", fifo]), /fifo: is a FIFO \(named pipe\), expected the config file as a regular file/],
        ["config device", recover({ out: join(dir, "out-zero") }, ["--config", "/dev/zero"]), /\/dev\/zero: is a device, expected the config file as a regular file/],
        ["recipe FIFO", recover({ recipe: fifo, out: join(dir, "out-recipe") }), /fifo: is a FIFO \(named pipe\), expected the recipe as a regular file/],
      ];
      for (const [what, running, message] of cases) {
        const run = await running;
        expect(run.hung, `${what} hung`).toBe(false);
        expect(run.code, what).toBe(4);
        expect(lastLine(run), what).toMatch(new RegExp(`^model-recover: .*${message.source}`));
      }
      expect((await readdir(dir)).filter((n) => n.startsWith("out-"))).toEqual([]);
    } finally {
      server.close();
    }
  }, 120_000);

  it("names a download that is a FIFO instead of reading it", async () => {
    const enc = join(dir, "enc-fifo");
    await system("cp", ["-r", release.encDir, enc], dir);
    const shard = (await readdir(enc)).find((n) => n.startsWith("pytorch_model.bin."))!;
    await rm(join(enc, shard));
    execFileSync("mkfifo", [join(enc, shard)]);
    const run = await recover({ enc, out: join(dir, "out-enc-fifo") });
    expect(run.hung).toBe(false);
    expect(run.code).toBe(4);
    expect(lastLine(run)).toMatch(/^model-recover: .*pytorch_model\.bin\.[0-9a-f]{64}\.enc: is a FIFO \(named pipe\), not a file; download it again or replace it with the file itself$/);
  });

  it("follows symlinks in a Hugging Face cache snapshot and a linked base in a --base folder, and names a dangling link (issue 10, point 11)", async () => {
    // huggingface_hub's layout: snapshots/<revision>/<file> -> ../../blobs/<etag>.
    const hub = join(dir, "hub", "models--org--release");
    const snapshot = join(hub, "snapshots", "0123abc");
    await mkdir(join(hub, "blobs"), { recursive: true });
    await mkdir(snapshot, { recursive: true });
    for (const [index, name] of (await readdir(release.encDir)).entries()) {
      await copyFile(join(release.encDir, name), join(hub, "blobs", `blob${index}`));
      await symlink(join("..", "..", "blobs", `blob${index}`), join(snapshot, name));
    }
    const baseFolder = join(dir, "llama");
    await mkdir(baseFolder);
    await symlink(release.basePath, join(baseFolder, "base.pth"));
    const out = join(dir, "out-hub");
    const run = await recover({ enc: snapshot, base: baseFolder, out });
    expect(run.code, run.stderr).toBe(0);
    expect(await md5(join(out, "pytorch_model.bin"))).toBe(await md5(join(release.modelDir, "pytorch_model.bin")));

    const made = await runWithin(["recipe", "from-folder", snapshot, "--name", "from-the-hub"]);
    expect(made.code, made.stderr).toBe(0);
    expect((JSON.parse(made.stdout) as { files: { name: string }[] }).files.map((f) => f.name)).toEqual(["config.json", "pytorch_model.bin"]);

    await rm(join(hub, "blobs", "blob0"));
    const dangling = await recover({ enc: snapshot, out: join(dir, "out-dangling") });
    expect(dangling.code).toBe(4);
    expect(lastLine(dangling)).toMatch(/^model-recover: .*snapshots\/0123abc\/\S+: is a symlink to a file that does not exist \(a dangling link\); download it again or replace it with the file itself$/);
  });

  it("recovers a file whose name is 90 bytes of CJK past a resume point, naming no state file after it (issue 10, point 8)", async () => {
    const name = `${"模型权重".repeat(7)}模型.bin`;
    const long = await packSmallRelease(join(dir, "long-name"), { [name]: 12_000_000 });
    const out = join(dir, "out-long");
    // A resume point every 10 MiB chunk: the 12 MB file saves its progress once before it is done.
    const run = await runWithin(["recover", long.recipePath, "--base", long.basePath, "--enc", long.encDir, "--out", out], 60_000, { MODEL_RECOVER_CHECKPOINT_MB: "10" });
    expect(run.code, run.stderr).toBe(0);
    expect(await md5(join(out, name))).toBe(await md5(join(long.modelDir, name)));
  }, 120_000);

  it("says in one line that a config or a recipe is not JSON, whatever newlines or controls its text holds (issue 10, point 12)", async () => {
    await writeFile(join(dir, "bad-config.json"), '{"base": \n\n\u001b[2J nope');
    const config = await recover({ out: join(dir, "out-bad-config") }, ["--config", join(dir, "bad-config.json")]);
    expect(config.code).toBe(2);
    expect(config.stderr).toMatch(/^model-recover: \S+bad-config\.json: not valid JSON \([^\n]*\\n\\n\\x1b\[2J nope[^\n]*\)\n$/);
    await writeFile(join(dir, "bad-recipe.json"), '{"name": "x",\n "title": \u001b[31m\n');
    const recipe = await recover({ recipe: join(dir, "bad-recipe.json"), out: join(dir, "out-bad-recipe") });
    expect(recipe.code).toBe(3);
    expect(recipe.stderr).toMatch(/^model-recover: \S+bad-recipe\.json: not valid JSON \([^\n]*\)\n$/);
  });

  it("only warns when the recovered folder is not a complete Hugging Face model: every file verified, exit 0 (issue 10, point 12)", async () => {
    const bare = await packSmallRelease(join(dir, "bare"), { "weights.bin": 5000 });
    const run = await runWithin(["recover", bare.recipePath, "--base", bare.basePath, "--enc", bare.encDir, "--out", join(dir, "out-bare")]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^warning: the folder is not a complete Hugging Face model: config\.json is missing$/m);
    expect(run.stdout).toMatch(/All 1 files of a small release verified in/);
    expect(run.stdout + run.stderr).not.toMatch(/did not verify|FAILED/);
  });
});
