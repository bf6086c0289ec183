import { lstat, mkdtemp, open, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identityOf, publishHandle, sameIdentity } from "./identity.js";

describe("publishHandle: what is renamed is what was written", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "safe-fs-publish-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function written(name: string, bytes: string) {
    const temp = join(dir, `${name}.part`);
    const handle = await open(temp, "wx");
    await handle.write(bytes, 0);
    return { temp, handle, final: join(dir, name) };
  }

  it("publishes the file written through the handle and returns its identity", async () => {
    const { temp, handle, final } = await written("ok.bin", "hello");
    const identity = await publishHandle(handle, temp, final, 5);
    await handle.close();
    expect(await readFile(final, "utf8")).toBe("hello");
    expect(sameIdentity(identity, identityOf(await lstat(final)))).toBe(true);
  });

  it("refuses a temporary name swapped for a symlink, and publishes nothing", async () => {
    const { temp, handle, final } = await written("swapped.bin", "hello");
    await writeFile(join(dir, "victim"), "hello");
    await rename(temp, join(dir, "moved-away"));
    await symlink(join(dir, "victim"), temp);
    await expect(publishHandle(handle, temp, final, 5)).rejects.toMatchObject({ code: "PUBLISH_TAMPERED" });
    await handle.close();
    await expect(lstat(final)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a temporary name swapped for another regular file of the same size", async () => {
    const { temp, handle, final } = await written("other.bin", "hello");
    await rm(temp);
    await writeFile(temp, "HELLO");
    await expect(publishHandle(handle, temp, final, 5)).rejects.toThrow(/was replaced by another file or a link/);
    await handle.close();
  });

  it("refuses a file extended past the expected size by another program", async () => {
    const { temp, handle, final } = await written("extended.bin", "hello");
    const other = await open(temp, "r+");
    await other.write("-tail", 5);
    await other.close();
    await expect(publishHandle(handle, temp, final, 5)).rejects.toThrow(/10 bytes, expected 5/);
    await handle.close();
  });
});
