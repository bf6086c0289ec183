import { link, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempOutput } from "./temp-output.js";

describe("a temporary output is continued in place only when it has no other name (issue 10, point 4)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "temp-output-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("refuses to continue a hard link of another file planted at the temporary name, leaving that file's bytes alone", async () => {
    const yours = join(dir, "yours.bin");
    await writeFile(yours, "a file of yours, not to be cut or rewritten\n");
    const temp = join(dir, "planted.part");
    await link(yours, temp);
    await expect(TempOutput.create(temp, join(dir, "final.bin"), { resumeFrom: 8 })).rejects.toThrow(/planted\.part: is a file with 2 names \(a hard link\), which is never written in place/);
    expect(await readFile(yours, "utf8")).toBe("a file of yours, not to be cut or rewritten\n");
  });

  it("writes a fresh file over a hard link planted at the temporary name when starting over", async () => {
    const yours = join(dir, "yours-2.bin");
    await writeFile(yours, "mine\n");
    const temp = join(dir, "planted-2.part");
    await link(yours, temp);
    const output = await TempOutput.create(temp, join(dir, "final-2.bin"));
    await output.write(new TextEncoder().encode("recovered"), 0);
    await output.discard();
    expect(await readFile(yours, "utf8")).toBe("mine\n");
  });
});
