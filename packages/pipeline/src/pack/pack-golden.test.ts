import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { resolveRecipe, xorRecipe } from "../recipe/load-recipe.js";
import { recover } from "../recover/recover.js";
import { packRelease } from "./pack.js";

interface GoldenCase {
  name: string;
  key: { seed: number; length: number };
  plain: { seed: number; length: number; fileName: string; sha256: string; md5: string };
  enc: { fileName: string; length: number; sha256: string; md5: string };
}
const vectors = new URL("../../../../fixtures/vectors/xor-release.json", import.meta.url);
const { cases } = JSON.parse(await readFile(vectors, "utf8")) as { cases: GoldenCase[] };
const digest = async (algorithm: string, path: string) => createHash(algorithm).update(await readFile(path)).digest("hex");

describe("pack and recover reproduce the published scripts' golden vectors byte for byte (spec §1)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pack-golden-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  for (const golden of cases) {
    it(`${golden.name}: pack writes the published .enc, recover gives back the plaintext`, async () => {
      const work = join(dir, golden.name);
      const model = join(work, "model");
      await mkdir(model, { recursive: true });
      const keyPath = join(work, "consolidated.00.pth");
      await writeFile(keyPath, xorshift32Bytes(golden.key.seed, golden.key.length));
      await writeFile(join(model, golden.plain.fileName), xorshift32Bytes(golden.plain.seed, golden.plain.length));

      const release = join(work, "release");
      const { recipe } = await packRelease({ modelDir: model, basePath: keyPath, outDir: release, name: "golden", recipePath: join(work, "golden.json") });
      expect((await readdir(release)).filter((n) => n.endsWith(".enc"))).toEqual([golden.enc.fileName]);
      const enc = join(release, golden.enc.fileName);
      expect(await digest("sha256", enc)).toBe(golden.enc.sha256);
      expect(await digest("md5", enc)).toBe(golden.enc.md5);
      expect(recipe.files[0]).toMatchObject({ sha256: golden.plain.sha256, md5: golden.plain.md5, encMd5: golden.enc.md5 });

      const out = join(work, "out");
      const loaded = xorRecipe(await resolveRecipe(recipe, { file: "golden.json", root: work }));
      const summary = await recover({ loaded, encDir: release, basePath: keyPath, outDir: out, checkFolder: false });
      expect(summary.files.map((f) => f.status)).toEqual(["verified"]);
      expect(await digest("sha256", join(out, golden.plain.fileName))).toBe(golden.plain.sha256);
    });
  }
});
