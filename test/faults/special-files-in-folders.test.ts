import { execFileSync } from "node:child_process";
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeLlamaFolder } from "../../packages/pipeline/src/inspect/test-support/llama-folder.js";
import type { CliRun } from "../support/cli.js";
import { runWithin } from "../support/run-within.js";

const lastLine = (run: CliRun) => run.stderr.trim().split("\n").at(-1)!;

/**
 * convert (to another --out) and apply-delta copy a folder's small files as they are; a FIFO or a
 * socket among them was left out without a word. It is refused, named, before anything is written.
 */
describe("a FIFO or a socket among the files convert or apply-delta copies: refused in one line, exit 4 (issue 10)", () => {
  let dir: string;
  const servers: Server[] = [];
  const plant = async (path: string, kind: "fifo" | "socket") => {
    if (kind === "fifo") execFileSync("mkfifo", [path]);
    else servers.push(createServer().listen(path));
    await new Promise((resolve) => setTimeout(resolve, 50));
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-special-files-"));
  });
  afterAll(async () => {
    for (const server of servers) server.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [kind, said] of [["fifo", "a FIFO \\(named pipe\\)"], ["socket", "a socket"]] as const) {
    it(`convert --out: ${kind} as tokenizer.model is named; in place it is not copied, so not refused`, async () => {
      const model = join(dir, `model-${kind}`);
      await mkdir(model);
      await writeLlamaFolder(model, { seed: 3, shards: 2 });
      await plant(join(model, "tokenizer.model"), kind);
      const out = join(dir, `converted-${kind}`);
      const run = await runWithin(["convert", model, "--out", out]);
      expect(run.hung).toBe(false);
      expect(run.code, run.stderr).toBe(4);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(lastLine(run)).toMatch(new RegExp(`^model-recover: \\S+/model-${kind}/tokenizer\\.model: is ${said}, not a file, and convert copies the folder's other files to --out; replace it with the file itself, or remove it$`));
      expect(await readdir(dir)).not.toContain(`converted-${kind}`);
      const inPlace = await runWithin(["convert", model]);
      expect(inPlace.code, inPlace.stderr).toBe(0);
    });

    it(`apply-delta: ${kind} as the delta's tokenizer_config.json is named`, async () => {
      const base = join(dir, `base-${kind}`);
      const delta = join(dir, `delta-${kind}`);
      await mkdir(base);
      await mkdir(delta);
      await writeLlamaFolder(base, { seed: 4 });
      await writeLlamaFolder(delta, { seed: 5 });
      await writeFile(join(delta, "tokenizer.json"), "{}\n");
      await plant(join(delta, "tokenizer_config.json"), kind);
      const out = join(dir, `tuned-${kind}`);
      const run = await runWithin(["apply-delta", base, delta, "--out", out]);
      expect(run.hung).toBe(false);
      expect(run.code, run.stderr).toBe(4);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(lastLine(run)).toMatch(new RegExp(`^model-recover: \\S+/delta-${kind}/tokenizer_config\\.json: is ${said}, not a file, and it is copied into the output folder as it is; replace it with the file itself, or remove it$`));
      const planted = await lstat(join(delta, "tokenizer_config.json"));
      expect(kind === "fifo" ? planted.isFIFO() : planted.isSocket()).toBe(true);
    });
  }
});
