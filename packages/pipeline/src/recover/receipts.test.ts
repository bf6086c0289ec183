import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identityOf } from "@model-recover/safe-fs";
import { ReceiptBook } from "./receipts.js";

const SHA = "a".repeat(64);

describe("receipts: what verified, and the identity that says it has not changed since", () => {
  let dir: string;
  let n = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "receipts-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function outputFolder(): Promise<string> {
    const out = join(dir, `out-${++n}`);
    await mkdir(join(out, ".model-recover"), { recursive: true });
    await writeFile(join(out, "config.json"), "{}\n");
    return out;
  }

  it("rewrites the receipt list at most once a second however fast files are recorded, and at flush", async () => {
    const out = await outputFolder();
    const book = await ReceiptBook.open(out);
    const file = join(out, ".model-recover", "receipts.json");
    // Every save is a new file renamed into place: another inode or change time (inodes are reused).
    const saves = new Set<string>();
    const started = Date.now();
    for (let i = 0; i < 10_000; i++) {
      await book.record("config.json", { sha256: SHA });
      const info = await lstat(file).catch(() => undefined);
      if (info) saves.add(`${info.ino}:${info.ctimeMs}`);
    }
    expect(saves.size).toBeLessThanOrEqual(1 + Math.ceil((Date.now() - started) / 1000));
    await book.flush();
    const again = await ReceiptBook.open(out);
    expect(await again.current("config.json")).toMatchObject({ name: "config.json", sha256: SHA });
    await writeFile(join(out, "config.json"), "{} \n");
    expect(await again.current("config.json")).toBeUndefined();
  });

  it("ignores a hand-edited receipt for a path, a lying identity or a malformed digest", async () => {
    const out = await outputFolder();
    const identity = identityOf(await lstat(join(out, "config.json")));
    const receipts = [
      { name: "../config.json", identity, sha256: SHA },
      { name: "config.json", identity: { ...identity, size: -1 }, sha256: SHA },
      { name: "config.json", identity: { ...identity, size: 2 ** 60 }, sha256: SHA },
      { name: "config.json", identity, sha256: "not a digest" },
    ];
    for (const receipt of receipts) {
      await writeFile(join(out, ".model-recover", "receipts.json"), JSON.stringify([receipt]));
      const book = await ReceiptBook.open(out);
      expect(await book.current("config.json"), JSON.stringify(receipt)).toBeUndefined();
    }
  });

  it("reports at flush a save the disk refused, instead of losing it unseen", async () => {
    const out = await outputFolder();
    const book = await ReceiptBook.open(out);
    await rm(join(out, ".model-recover"), { recursive: true });
    await writeFile(join(out, ".model-recover"), "a file where the state folder was");
    await book.record("config.json", { sha256: SHA });
    await expect(book.flush()).rejects.toMatchObject({ code: "ENOTDIR" });
    expect(await readFile(join(out, ".model-recover"), "utf8")).toBe("a file where the state folder was");
  });
});
