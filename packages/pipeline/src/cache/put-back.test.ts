import { createHash } from "node:crypto";
import { chmod, lstat, mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { OutputStore } from "./output-store.js";
import { putBackOutputs } from "./put-back.js";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("putBackOutputs: a cached tensor run's files back in --out, only as the store vouches for them", () => {
  let dir: string;
  const weights = xorshift32Bytes(11, 96 * 1024);
  const config = new TextEncoder().encode('{"model_type": "llama"}\n');
  const files = new Map([
    ["pytorch_model.bin", { size: weights.length, sha256: sha256(weights) }],
    ["config.json", { size: config.length, sha256: sha256(config) }],
  ]);
  let store: { dir: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "put-back-"));
    const made = join(dir, "made");
    await mkdir(made);
    store = { dir: join(dir, "store") };
    const outputs = new OutputStore(store.dir);
    await writeFile(join(made, "pytorch_model.bin"), weights);
    await writeFile(join(made, "config.json"), config);
    for (const [name, { size, sha256: digest }] of files) await outputs.add(join(made, name), digest, size);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("puts every file back into a new folder, then finds them in place as the store's own copies", async () => {
    const out = join(dir, "out");
    expect(await putBackOutputs({ outDir: out, files, store })).toEqual({ kept: [], restored: ["pytorch_model.bin", "config.json"], missing: [] });
    expect(await readFile(join(out, "pytorch_model.bin"))).toEqual(Buffer.from(weights));
    expect(await putBackOutputs({ outDir: out, files, store })).toEqual({ kept: ["pytorch_model.bin", "config.json"], restored: [], missing: [] });
  });

  it("replaces a link planted under an output's name, never writing through it", async () => {
    const out = join(dir, "out-planted");
    const outside = join(dir, "outside.txt");
    await writeFile(outside, "mine");
    await mkdir(out);
    await symlink(outside, join(out, "config.json"));
    expect((await putBackOutputs({ outDir: out, files, store })).restored).toContain("config.json");
    expect((await lstat(join(out, "config.json"))).isFile()).toBe(true);
    expect(await readFile(outside, "utf8")).toBe("mine");
  });

  it("refuses a folder under an output's name in one line, leaving it alone", async () => {
    const out = join(dir, "out-folder");
    await mkdir(join(out, "config.json"), { recursive: true });
    await expect(putBackOutputs({ outDir: out, files, store })).rejects.toMatchObject({ code: "OUT_NOT_WRITABLE", message: `${join(out, "config.json")}: is a folder where config.json goes; move it away or pass another --out` });
    expect((await lstat(join(out, "config.json"))).isDirectory()).toBe(true);
  });

  it("reports a file whose stored copy was edited in place as missing, and leaves what is under its name alone", async () => {
    const out = join(dir, "out");
    const target = join(out, "pytorch_model.bin");
    await chmod(target, 0o644);
    const handle = await open(target, "r+");
    await handle.write(Buffer.from([0xde, 0xad]), 0, 2, 100);
    await handle.close();
    const edited = await readFile(target);
    expect(await putBackOutputs({ outDir: out, files, store })).toEqual({ kept: ["config.json"], restored: [], missing: ["pytorch_model.bin"] });
    expect(await readFile(target)).toEqual(edited);
  });
});
