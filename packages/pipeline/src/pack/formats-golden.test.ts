import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { resolveRecipe, xorRecipe } from "../recipe/load-recipe.js";
import type { Recipe } from "../recipe/types.js";
import { recover } from "../recover/recover.js";
import { packRelease } from "./pack.js";

// Vectors from an independent Python reading of spec §2 and §3 (scripts/vectors/make_xor_codec_vectors.py).
interface Seeded { seed: number; length: number; sha256: string }
interface Digest { length: number; sha256: string; base64?: string }
interface CodecCase { name: string; fileName: string; mode: "plain" | "gzip"; base: Seeded | "absent"; payload: Seeded; encoded: Digest | null; decoded: Digest | null; expect?: string }
interface PrefixCase { name: string; encFileName: string; outFileName: string; base: Seeded; payload: Seeded; encoded: Digest; decoded: Digest; expectedKeyMd5: string; keyPrefix: { md5: string }; expect?: string }

const vectors = (name: string) => readFile(new URL(`../../../../fixtures/vectors/${name}`, import.meta.url), "utf8").then((t) => JSON.parse(t).cases);
const codecCases = (await vectors("xor-codec.json")) as CodecCase[];
const prefixCases = (await vectors("xor-prefix.json")) as PrefixCase[];
const sha256Of = async (path: string) => createHash("sha256").update(await readFile(path)).digest("hex");
const generate = (s: Seeded) => xorshift32Bytes(s.seed, s.length);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "formats-golden-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function folderWith(path: string, files: Record<string, Uint8Array>): Promise<string> {
  await mkdir(path, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(path, name), bytes);
  return path;
}

async function recoverRelease(recipe: Recipe, encDir: string, basePath: string, outDir: string) {
  const loaded = xorRecipe(await resolveRecipe(recipe, { file: "vector", root: dir }));
  return recover({ loaded, encDir, basePath, outDir, checkFolder: false });
}

describe("xor-codec: OpenAssistant's xor_codec (spec §2), both ways, against independent vectors", () => {
  for (const golden of codecCases.filter((c) => c.mode === "plain" && !c.expect)) {
    it(`${golden.name}: pack encodes byte for byte and recover decodes`, async () => {
      const work = join(dir, `codec-${golden.name}`);
      const model = await folderWith(join(work, "model"), { [golden.fileName]: generate(golden.payload) });
      const base = await folderWith(join(work, "base"), golden.base === "absent" ? {} : { [golden.fileName]: generate(golden.base) });
      const release = join(work, "release");
      const { recipe } = await packRelease({ modelDir: model, basePath: base, outDir: release, name: "codec", format: "xor-codec", recipePath: join(work, "recipe.json") });
      expect(await sha256Of(join(release, golden.fileName))).toBe(golden.encoded!.sha256);
      const summary = await recoverRelease(recipe, release, base, join(work, "out"));
      expect(summary.files.map((f) => f.status)).toEqual(["verified"]);
      expect(await sha256Of(join(work, "out", golden.fileName))).toBe(golden.decoded!.sha256);
    });
  }

  it("refuses to pack a file with no base counterpart other than added_tokens.json (the published script prints an exception and exits 0)", async () => {
    const golden = codecCases.find((c) => c.expect === "no-output")!;
    const work = join(dir, "codec-no-base");
    const model = await folderWith(join(work, "model"), { [golden.fileName]: generate(golden.payload) });
    const base = await folderWith(join(work, "base"), {});
    await expect(packRelease({ modelDir: model, basePath: base, outDir: join(work, "release"), name: "codec", format: "xor-codec" })).rejects.toMatchObject({ code: "BASE_MISSING" });
  });

  it("reads the --compress mode: the published gzip bytes decode to the payload", async () => {
    const golden = codecCases.find((c) => c.mode === "gzip")!;
    const work = join(dir, "codec-gzip");
    const base = await folderWith(join(work, "base"), { [golden.fileName]: generate(golden.base as Seeded) });
    const release = await folderWith(join(work, "release"), { [golden.fileName]: Buffer.from(golden.encoded!.base64!, "base64") });
    const recipe: Recipe = { name: "codec-gzip", title: "gzip vector", pipeline: "xor-codec-gzip", base: { title: "vector base", files: [] }, files: [{ name: golden.fileName, md5: null, encMd5: null }] };
    const summary = await recoverRelease(recipe, release, base, join(work, "out"));
    expect(summary.files.map((f) => f.status)).toEqual(["verified"]);
    expect(await sha256Of(join(work, "out", golden.fileName))).toBe(golden.decoded!.sha256);
    expect((await readdir(join(work, "out"))).filter((n) => n.includes("partial"))).toEqual([]);
  });

  it("round-trips the --compress mode through pack and recover", async () => {
    const golden = codecCases.find((c) => c.mode === "gzip")!;
    const work = join(dir, "codec-gzip-pack");
    const model = await folderWith(join(work, "model"), { [golden.fileName]: generate(golden.payload) });
    const base = await folderWith(join(work, "base"), { [golden.fileName]: generate(golden.base as Seeded) });
    const { recipe } = await packRelease({ modelDir: model, basePath: base, outDir: join(work, "release"), name: "codec-gzip", format: "xor-codec-gzip", recipePath: join(work, "r.json") });
    const summary = await recoverRelease(recipe, join(work, "release"), base, join(work, "out"));
    expect(summary.files.map((f) => f.status)).toEqual(["verified"]);
    expect(await sha256Of(join(work, "out", golden.fileName))).toBe(golden.decoded!.sha256);
  });
});

describe("xor-prefix: OpenBuddy (spec §3), both ways, against independent vectors", () => {
  for (const golden of prefixCases.filter((c) => !c.expect)) {
    it(`${golden.name}: pack encodes byte for byte, recover checks the key's md5 and decodes`, async () => {
      const work = join(dir, `prefix-${golden.name}`);
      const model = await folderWith(join(work, "model"), { [golden.outFileName]: generate(golden.payload) });
      const basePath = join(await folderWith(join(work, "7B"), { "consolidated.00.pth": generate(golden.base) }), "consolidated.00.pth");
      const release = join(work, "release");
      const { recipe } = await packRelease({ modelDir: model, basePath, outDir: release, name: "prefix", format: "xor-prefix", recipePath: join(work, "recipe.json") });
      expect(recipe.base).toMatchObject({ keyPrefix: { bytes: 16 * 1024 * 1024, md5: golden.expectedKeyMd5 } });
      expect(await sha256Of(join(release, golden.encFileName))).toBe(golden.encoded.sha256);
      const summary = await recoverRelease(recipe, release, basePath, join(work, "out"));
      expect(summary.files.map((f) => f.status)).toEqual(["verified"]);
      expect(await sha256Of(join(work, "out", golden.outFileName))).toBe(golden.decoded.sha256);
    });
  }

  it("refuses a base whose first 16 MiB are not the key (checked before any file is touched)", async () => {
    const golden = prefixCases.find((c) => c.expect === "error")!;
    const good = prefixCases.find((c) => !c.expect)!;
    const work = join(dir, "prefix-wrong-base");
    const model = await folderWith(join(work, "model"), { [good.outFileName]: generate(good.payload) });
    const basePath = join(await folderWith(join(work, "7B"), { "consolidated.00.pth": generate(good.base) }), "consolidated.00.pth");
    const { recipe } = await packRelease({ modelDir: model, basePath, outDir: join(work, "release"), name: "prefix", format: "xor-prefix", recipePath: join(work, "r.json") });
    const short = join(await folderWith(join(work, "short"), { "consolidated.00.pth": generate(golden.base) }), "consolidated.00.pth");
    await expect(recoverRelease(recipe, join(work, "release"), short, join(work, "out"))).rejects.toMatchObject({ code: "BASE_WRONG" });
    const other = join(await folderWith(join(work, "other"), { "consolidated.00.pth": xorshift32Bytes(999, 17_000_000) }), "consolidated.00.pth");
    await expect(recoverRelease(recipe, join(work, "release"), other, join(work, "out"))).rejects.toThrow(/first 16777216 bytes have md5 [0-9a-f]{32}, not [0-9a-f]{32}/);
  });
});
