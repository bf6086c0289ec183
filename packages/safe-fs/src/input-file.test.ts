import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRegularFile, readSmallFile, statRegularFile } from "./input-file.js";

describe("inputs are read only when they are regular files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "safe-fs-input-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("refuses a FIFO at once instead of waiting for a writer", async () => {
    const fifo = join(dir, "base.pth");
    execFileSync("mkfifo", [fifo]);
    await expect(openRegularFile(fifo, "base checkpoint")).rejects.toMatchObject({ code: "INPUT_NOT_REGULAR", message: `${fifo}: is a FIFO (named pipe), expected the base checkpoint as a regular file` });
    await expect(readSmallFile(fifo, 100, "config file")).rejects.toMatchObject({ code: "INPUT_NOT_REGULAR" });
  });

  it("refuses a socket, which cannot even be opened, by what it is", async () => {
    const socket = join(dir, "base.sock");
    const server = createServer().listen(socket);
    await once(server, "listening");
    try {
      await expect(openRegularFile(socket, "base checkpoint")).rejects.toMatchObject({ code: "INPUT_NOT_REGULAR", message: `${socket}: is a socket, expected the base checkpoint as a regular file` });
    } finally {
      server.close();
    }
  });

  it("refuses a device without reading it (/dev/zero would never end)", async () => {
    await expect(readSmallFile("/dev/zero", 1024 * 1024, "config file")).rejects.toMatchObject({ code: "INPUT_NOT_REGULAR", message: "/dev/zero: is a device, expected the config file as a regular file" });
  });

  it("refuses a folder, names a dangling symlink, and follows a good one", async () => {
    await expect(statRegularFile(dir, "recipe")).rejects.toMatchObject({ code: "INPUT_NOT_REGULAR", message: `${dir}: is a folder, expected the recipe as a regular file` });
    await symlink(join(dir, "gone"), join(dir, "dangling"));
    await expect(openRegularFile(join(dir, "dangling"), "download")).rejects.toMatchObject({ code: "INPUT_DANGLING_LINK" });
    await writeFile(join(dir, "real.json"), "{}");
    await symlink(join(dir, "real.json"), join(dir, "link.json"));
    expect(await readSmallFile(join(dir, "link.json"), 10)).toBe("{}");
  });

  it("refuses a file over the limit before reading it, naming the size", async () => {
    await writeFile(join(dir, "big.json"), "x".repeat(2000));
    await expect(readSmallFile(join(dir, "big.json"), 1000, "recipe")).rejects.toMatchObject({ code: "INPUT_TOO_BIG", message: `${join(dir, "big.json")}: 2000 bytes is too big for a recipe (at most 1000)` });
    await expect(readSmallFile(join(dir, "missing.json"), 1000, "recipe")).rejects.toMatchObject({ code: "INPUT_MISSING", message: `${join(dir, "missing.json")}: recipe not found` });
  });
});
