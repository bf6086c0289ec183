import { createHash } from "node:crypto";
import { chmod, lstat, mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { OutputStore } from "./output-store.js";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Overwrite bytes in place, as an editor writing in place or `dd conv=notrunc` does (read-only or not). */
async function editInPlace(path: string): Promise<void> {
  await chmod(path, 0o644);
  const handle = await open(path, "r+");
  await handle.write(Buffer.from([0xde, 0xad]), 0, 2, 100);
  await handle.close();
}

describe("the output store serves only bytes that provably still hold their sha256 (issue 10, point 3)", () => {
  let dir: string;
  let n = 0;
  const bytes = xorshift32Bytes(5, 64 * 1024);
  const digest = sha256(bytes);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "output-store-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** A fresh store and a verified output in a fresh folder. */
  async function storeWithOutput(): Promise<{ store: OutputStore; out: string; output: string; entry: string }> {
    const out = join(dir, `out-${++n}`);
    await mkdir(out);
    const output = join(out, "pytorch_model.bin");
    await writeFile(output, bytes);
    const store = new OutputStore(join(dir, `store-${n}`));
    await store.add(output, digest, bytes.length);
    return { store, out, output, entry: join(store.dir, digest.slice(0, 2), digest) };
  }

  it("keeps a read-only second name of a verified output and puts it back", async () => {
    const { store, out, entry } = await storeWithOutput();
    expect((await lstat(entry)).mode & 0o222).toBe(0);
    const target = join(out, "restored.bin");
    expect(await store.restore(digest, bytes.length, join(out, "restored.tmp"), target)).toMatchObject({ size: bytes.length });
    expect(sha256(await readFile(target))).toBe(digest);
  });

  it("never puts back an output edited in place after it was stored (one inode): the entry is re-hashed and dropped", async () => {
    const { store, out, output, entry } = await storeWithOutput();
    await editInPlace(output);
    const target = join(out, "restored.bin");
    expect(await store.restore(digest, bytes.length, join(out, "restored.tmp"), target)).toBeUndefined();
    await expect(lstat(target)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(lstat(entry)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("repairs an entry of the right size that no longer holds its sha256 when the output is added again", async () => {
    const { store, out, entry } = await storeWithOutput();
    await editInPlace(entry);
    const again = join(out, "again.bin");
    await writeFile(again, bytes);
    await store.add(again, digest, bytes.length);
    expect(sha256(await readFile(entry))).toBe(digest);
  });

  it("refuses, when opened and so before any work, a file or a link where one of its entry folders goes", async () => {
    for (const [name, plant] of [["93", (path: string) => writeFile(path, "junk\n")], ["4b", (path: string) => symlink(dir, path)]] as const) {
      const store = join(dir, `planted-${name}`);
      await mkdir(store);
      await plant(join(store, name));
      await expect(OutputStore.open(store)).rejects.toMatchObject({ code: "OUT_NOT_WRITABLE", message: `${join(store, name)}: is not a folder (a symlink?) in the content store; the store writes only inside itself: remove it and run again` });
    }
  });

  it("does not trust a symlink planted as an entry, nor one planted at the target", async () => {
    const { store, out, entry } = await storeWithOutput();
    await writeFile(join(dir, "elsewhere"), bytes);
    await rm(entry);
    await symlink(join(dir, "elsewhere"), entry);
    expect(await store.restore(digest, bytes.length, join(out, "r.tmp"), join(out, "r.bin"))).toBeUndefined();
    const good = await storeWithOutput();
    await writeFile(join(dir, "victim"), "do not touch");
    await symlink(join(dir, "victim"), join(good.out, "linked.bin"));
    expect(await good.store.restore(digest, bytes.length, join(good.out, "l.tmp"), join(good.out, "linked.bin"))).toBeDefined();
    expect(await readFile(join(dir, "victim"), "utf8")).toBe("do not touch");
    expect((await lstat(join(good.out, "linked.bin"))).isFile()).toBe(true);
  });
});
