import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// exFAT and FAT32 (a USB drive a release is downloaded to) have no hard links: link fails with EPERM.
vi.mock("node:fs/promises", async (original) => {
  const real = await original<typeof import("node:fs/promises")>();
  const link = () => Promise.reject(Object.assign(new Error("EPERM: operation not permitted, link"), { code: "EPERM" }));
  return { ...real, link, default: { ...real, link } };
});

const { releaseFolderLock, takeFolderLock } = await import("./folder-lock.js");

describe("the folder lock on a file system without hard links", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "folder-lock-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("is taken, holds this run, refuses a second taker and is released (download --to an exFAT drive used to die with an unexpected EPERM)", async () => {
    const state = join(dir, ".model-recover");
    await mkdir(state);
    await takeFolderLock(dir, state);
    expect(JSON.parse(await readFile(join(state, "lock"), "utf8"))).toMatchObject({ pid: process.pid });
    expect(await readdir(state)).toEqual(["lock"]);
    await expect(takeFolderLock(dir, state)).rejects.toThrow(/another model-recover \(pid \d+, started \S+\) is using this folder/);
    await releaseFolderLock(state);
    expect(await readdir(state)).toEqual([]);
  });
});
