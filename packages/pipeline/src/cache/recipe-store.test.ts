import { createHash } from "node:crypto";
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError } from "../errors.js";
import type { VerifiedFile } from "../recover/verify.js";
import { RecipeStore, VERIFIED_FILE } from "./recipe-store.js";

const KEY = "0123456789abcdef0123456789abcdef";
const FILES: Record<string, string> = { "config.json": '{"dim": 64}\n', "pytorch_model.bin": "weights ".repeat(1000) };
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

let dir: string;
let store: RecipeStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mr-recipe-store-"));
  store = new RecipeStore(join(dir, "store"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** An entry as a conversion leaves it: its files verified in the partial folder, its run's state folder beside them. */
async function makeEntry(): Promise<string> {
  const partial = await store.partialDir("tiny-hf", KEY);
  await mkdir(join(partial, ".model-recover"), { recursive: true });
  const verified: VerifiedFile[] = [];
  for (const [name, text] of Object.entries(FILES)) {
    await writeFile(join(partial, name), text);
    verified.push({ name, bytes: Buffer.byteLength(text), sha256: sha256(text), checks: [] });
  }
  return store.commit(partial, { recipe: "tiny-hf", key: KEY, inputs: [{ name: "consolidated.00.pth", bytes: 10, md5: "0".repeat(32) }] }, verified);
}

describe("RecipeStore", () => {
  it("makes an entry in <key>.partial and renames it into place, read-only, with its record, without the run's state", async () => {
    expect(await store.find("tiny-hf", KEY)).toEqual({ state: "absent" });
    const entry = await makeEntry();
    expect(entry).toBe(join(dir, "store", "recipes", "tiny-hf", KEY));
    expect(await readdir(join(dir, "store", "recipes", "tiny-hf"))).toEqual([KEY]);
    expect((await readdir(entry)).sort()).toEqual([VERIFIED_FILE, "config.json", "pytorch_model.bin"]);
    for (const name of Object.keys(FILES)) expect((await stat(join(entry, name))).mode & 0o222).toBe(0);
    const found = await store.find("tiny-hf", KEY);
    expect(found).toMatchObject({ state: "verified", dir: entry, record: { recipe: "tiny-hf", key: KEY, inputs: [{ name: "consolidated.00.pth" }] } });
  });

  it("never takes a partial folder for an entry", async () => {
    const partial = await store.partialDir("tiny-hf", KEY);
    await writeFile(join(partial, "config.json"), FILES["config.json"]!);
    expect(await store.find("tiny-hf", KEY)).toEqual({ state: "absent" });
  });

  it("keeps an entry whose file was touched but holds its bytes, and records its new identity", async () => {
    const entry = await makeEntry();
    await utimes(join(entry, "config.json"), new Date(), new Date(2001, 1, 1));
    expect((await store.find("tiny-hf", KEY)).state).toBe("verified");
    const record = JSON.parse(await readFile(join(entry, VERIFIED_FILE), "utf8"));
    const now = await lstat(join(entry, "config.json"));
    expect(record.files.find((f: { name: string }) => f.name === "config.json").identity).toMatchObject({ ino: now.ino, mtimeMs: now.mtimeMs, ctimeMs: now.ctimeMs });
  });

  it("finds an entry damaged when a file changed, is missing, is a link, or one was added, and names it", async () => {
    const entry = await makeEntry();
    const shard = join(entry, "pytorch_model.bin");
    await chmod(shard, 0o644);
    await writeFile(shard, "weightz ".repeat(1000));
    expect(await store.find("tiny-hf", KEY)).toEqual({ state: "damaged", dir: entry, reason: `${shard} changed since it verified (sha256 ${sha256("weightz ".repeat(1000))}, not ${sha256(FILES["pytorch_model.bin"]!)})` });
    await rm(shard);
    expect(await store.find("tiny-hf", KEY)).toMatchObject({ state: "damaged", reason: `${shard} is missing or not a regular file` });
    await symlink(join(dir, "elsewhere"), shard);
    expect(await store.find("tiny-hf", KEY)).toMatchObject({ state: "damaged", reason: `${shard} is missing or not a regular file` });
    await rm(shard);
    await writeFile(shard, FILES["pytorch_model.bin"]!);
    expect((await store.find("tiny-hf", KEY)).state).toBe("verified");
    await writeFile(join(entry, "added_tokens.json"), "{}");
    expect(await store.find("tiny-hf", KEY)).toMatchObject({ state: "damaged", reason: `${join(entry, "added_tokens.json")} is not a file the entry was made with` });
  });

  it("finds an entry damaged whose record is missing, foreign or names a path, and replaces it on the next commit", async () => {
    const entry = await makeEntry();
    const recordPath = join(entry, VERIFIED_FILE);
    const record = JSON.parse(await readFile(recordPath, "utf8"));
    for (const bad of [{ ...record, key: "f".repeat(32) }, { ...record, files: [{ ...record.files[0], name: "../x" }] }, "not json"]) {
      await writeFile(recordPath, typeof bad === "string" ? bad : JSON.stringify(bad));
      expect(await store.find("tiny-hf", KEY)).toMatchObject({ state: "damaged", reason: `${recordPath} is missing or not a record of this entry` });
    }
    await makeEntry();
    expect((await store.find("tiny-hf", KEY)).state).toBe("verified");
    expect(await readdir(join(dir, "store", "recipes", "tiny-hf"))).toEqual([KEY]);
  });

  it("refuses a link planted for one of its folders, and writes nothing through it", async () => {
    const elsewhere = join(dir, "elsewhere");
    await mkdir(elsewhere);
    await writeFile(join(elsewhere, "mine.txt"), "the user's own file");
    await mkdir(join(dir, "store", "recipes"), { recursive: true });
    await symlink(elsewhere, join(dir, "store", "recipes", "tiny-hf"));
    const error = await store.partialDir("tiny-hf", KEY).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe(`${join(dir, "store", "recipes", "tiny-hf")}: is not a folder (a link?) in the store; the store writes only inside itself: remove it and run again`);
    expect(await readdir(elsewhere)).toEqual(["mine.txt"]);
    // The same for the partial folder the conversion writes in.
    await rm(join(dir, "store", "recipes", "tiny-hf"));
    await mkdir(join(dir, "store", "recipes", "tiny-hf"));
    await symlink(elsewhere, `${store.entryDir("tiny-hf", KEY)}.partial`);
    await expect(store.partialDir("tiny-hf", KEY)).rejects.toThrow(`${store.entryDir("tiny-hf", KEY)}.partial: is not a folder (a link?) in the store`);
    expect(await readdir(elsewhere)).toEqual(["mine.txt"]);
    // An entry that is a link is no entry: found damaged, never read through.
    await rm(`${store.entryDir("tiny-hf", KEY)}.partial`);
    await symlink(elsewhere, join(dir, "store", "recipes", "tiny-hf", KEY));
    expect(await store.find("tiny-hf", KEY)).toMatchObject({ state: "damaged", reason: `${store.entryDir("tiny-hf", KEY)} is not a folder` });
    await makeEntry();
    expect(await readdir(elsewhere)).toEqual(["mine.txt"]);
    expect((await store.find("tiny-hf", KEY)).state).toBe("verified");
  });
});
