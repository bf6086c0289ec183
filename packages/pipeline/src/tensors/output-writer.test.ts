import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../errors.js";
import type { RecoverEvent } from "../recover/events.js";
import { OutputFolder } from "../recover/output-folder.js";
import { OutputWriter } from "./output-writer.js";

const SLOT = 4 << 20;
const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

let dir: string;
let folder: OutputFolder;
let writer: OutputWriter;
const events: RecoverEvent[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "output-writer-"));
  folder = await OutputFolder.claim(join(dir, "out"));
  const expectedMd5 = new Map([["published.bin", md5(xorshift32Bytes(3, 1000))], ["lied-about.bin", "0".repeat(32)]]);
  writer = new OutputWriter({ folder, expectedMd5, onEvent: (event) => events.push(event), source: "the test's card" });
});
afterAll(async () => {
  await writer.close();
  await folder.release();
  await rm(dir, { recursive: true, force: true });
});

/** Writes `content` front to back in chunks of the given sizes, cycling through them. */
function inChunks(content: Uint8Array, sizes: number[]) {
  return async (write: (bytes: Uint8Array, position: number) => Promise<void>) => {
    for (let at = 0, i = 0; at < content.length; i++) {
      const end = Math.min(content.length, at + sizes[i % sizes.length]!);
      await write(content.subarray(at, end), at);
      at = end;
    }
  };
}

const system = (tool: string, path: string) => execFileSync(tool, [path], { encoding: "utf8" }).split(" ")[0];

describe("OutputWriter: files hashed as they are written, published only once they verify", () => {
  it.each([
    ["empty", 0],
    ["one byte", 1],
    ["exactly one slot", SLOT],
    ["one slot and a byte", SLOT + 1],
    ["several slots", 3 * SLOT + 12345],
  ])("writes a file of %s whose sha256 is sha256sum's (no md5 where no card publishes one)", async (_, bytes) => {
    const content = xorshift32Bytes(bytes + 1, bytes);
    const name = `f${bytes}.bin`;
    const status = await writer.writeStream(name, bytes, inChunks(content, [7, 65536, 1 << 20, 3]));
    expect(status).toMatchObject({ status: "verified", file: { name, bytes, checks: [] } });
    const path = join(folder.dir, name);
    expect((await readFile(path)).equals(content)).toBe(true);
    expect(status.status === "verified" && status.file).toEqual({ name, bytes, sha256: system("sha256sum", path), checks: [] });
  });

  it("checks the card's md5 where one is published, computed as md5sum computes it", async () => {
    const status = await writer.writeStream("published.bin", 1000, inChunks(xorshift32Bytes(3, 1000), [999]));
    expect(status).toMatchObject({ status: "verified", file: { checks: ["card-md5"], md5: system("md5sum", join(folder.dir, "published.bin")) } });
  });

  it("keeps a file whose md5 is not the card's from its final name, and says whose md5 it expected", async () => {
    const status = await writer.writeStream("lied-about.bin", 10, inChunks(xorshift32Bytes(4, 10), [10]));
    expect(status).toMatchObject({ status: "failed", code: "VERIFY_FAILED", message: expect.stringMatching(/^lied-about\.bin did not verify \(md5 [0-9a-f]{32}, the test's card says 0{32}\); nothing was written under its name$/) });
    expect(await readdir(folder.dir)).not.toContain("lied-about.bin");
    expect(events).toContainEqual({ type: "file-failed", name: "lied-about.bin", message: expect.any(String) });
  });

  it("publishes nothing when a last check before publishing refuses, and leaves no temporary file", async () => {
    const refuse = () => Promise.reject(new InputError("INPUT_CHANGED", "an input changed"));
    await expect(writer.writeStream("late.bin", 5, inChunks(xorshift32Bytes(5, 5), [5]), refuse)).rejects.toMatchObject({ code: "INPUT_CHANGED" });
    expect(await readdir(folder.dir)).not.toContain("late.bin");
    expect(await readdir(join(folder.stateDir, "partial"))).toEqual([]);
  });

  it("refuses bytes that do not come front to back", async () => {
    const backwards = async (write: (bytes: Uint8Array, position: number) => Promise<void>) => {
      await write(new Uint8Array(4), 4);
    };
    await expect(writer.writeStream("backwards.bin", 8, backwards)).rejects.toThrow("bytes for position 4 after 0; a sink is written front to back");
    expect(await readdir(folder.dir)).not.toContain("backwards.bin");
  });

  it("writes a small file whole, checked like the others", async () => {
    expect(await writer.writeText("config.json", "{}\n")).toMatchObject({ status: "verified", file: { bytes: 3, md5: md5(Buffer.from("{}\n")) } });
    expect(await readFile(join(folder.dir, "config.json"), "utf8")).toBe("{}\n");
  });
});
