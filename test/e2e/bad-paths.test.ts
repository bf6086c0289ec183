import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoDir, modelRecover } from "../support/cli.js";

const lastLine = (stderr: string) => stderr.trim().split("\n").at(-1)!;
const demoBase = join(demoDir, "base", "consolidated.00.pth");

describe("paths a user can get wrong end in one line and an exit code, never a stack trace or a hang", () => {
  let dir: string;
  let model: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-paths-"));
    model = join(dir, "model");
    await mkdir(model);
    await writeFile(join(model, "config.json"), "{}");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("pack names a base that is missing or a folder (exit 4)", async () => {
    for (const base of [join(dir, "nope.pth"), model]) {
      const run = await modelRecover(["pack", "--model", model, "--base", base, "--out", join(dir, "out"), "--name", "x"]);
      expect(run.code, run.stderr).toBe(4);
      expect(lastLine(run.stderr)).toMatch(new RegExp(`^model-recover: ${base}: (base checkpoint not found|is a folder, expected the base checkpoint as a regular file)$`));
    }
  });

  // Node 20's recursive mkdir spins forever where the last mkdir reports ENOENT under an existing parent.
  it.runIf(process.platform === "linux")("refuses an output folder that cannot be made, as /proc/x (exit 4, at once)", async () => {
    const recover = await modelRecover(["recover", "demo", "--out", "/proc/model-recover-x"]);
    expect(recover.code).toBe(4);
    expect(lastLine(recover.stderr)).toBe("model-recover: /proc/model-recover-x: cannot create or use the output folder (ENOENT); pass another --out");
    const pack = await modelRecover(["pack", "--model", model, "--base", demoBase, "--out", "/proc/model-recover-x", "--name", "x"]);
    expect(pack.code).toBe(4);
    expect(lastLine(pack.stderr)).toBe("model-recover: /proc/model-recover-x: cannot create the release folder (ENOENT); pass another --out");
  }, 30_000);
});
