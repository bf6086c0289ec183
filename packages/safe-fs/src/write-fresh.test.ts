import { mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { isWriteFreshTemp, writeFresh } from "./write-fresh.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "safe-fs-fresh-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it("replaces a symlink planted at the name instead of writing through it", async () => {
  await writeFile(join(dir, "victim.txt"), "do not touch\n");
  await symlink(join(dir, "victim.txt"), join(dir, "list.md5"));
  await writeFresh(join(dir, "list.md5"), "abc  ./x\n");
  expect(await readFile(join(dir, "victim.txt"), "utf8")).toBe("do not touch\n");
  expect(await readFile(join(dir, "list.md5"), "utf8")).toBe("abc  ./x\n");
  await expect(readlink(join(dir, "list.md5"))).rejects.toMatchObject({ code: "EINVAL" });
  expect((await readdir(dir)).filter(isWriteFreshTemp)).toEqual([]);
});

it("recognises its own temporary names and nothing else", () => {
  expect(isWriteFreshTemp(".receipts.json.1234.0a1b2c3d.tmp")).toBe(true);
  expect(isWriteFreshTemp("receipts.json.tmp")).toBe(false);
  expect(isWriteFreshTemp(".config.json")).toBe(false);
});
