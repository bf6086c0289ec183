import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { packRelease, type Recipe } from "@model-recover/pipeline";

export interface SmallRelease {
  modelDir: string;
  encDir: string;
  basePath: string;
  recipePath: string;
  recipe: Recipe;
}

/**
 * A release of a few seeded files packed by `pack` (xor-enc, spec §1) against a synthetic base, for
 * tests about names and shapes rather than size. The recipe is written outside the release folder.
 */
export async function packSmallRelease(dir: string, files: Record<string, number | string>, options: { seed?: number; baseBytes?: number; clear?: string[] } = {}): Promise<SmallRelease> {
  const seed = options.seed ?? 7;
  const modelDir = join(dir, "model");
  const encDir = join(dir, "enc");
  await mkdir(modelDir, { recursive: true });
  const basePath = join(dir, "base.pth");
  await writeFile(basePath, xorshift32Bytes(seed, options.baseBytes ?? 3 * 1024 * 1024 + 333));
  for (const [index, [name, content]] of Object.entries(files).entries()) {
    await writeFile(join(modelDir, name), typeof content === "string" ? content : xorshift32Bytes(seed + 1 + index, content));
  }
  const recipePath = join(dir, "release.json");
  const { recipe } = await packRelease({ modelDir, basePath, outDir: encDir, name: "small", title: "a small release", recipePath, clear: options.clear ?? [] });
  return { modelDir, encDir, basePath, recipePath, recipe };
}

/**
 * Give a file of the release another name, in the release folder and in the recipe, as a hand-written
 * recipe could (names `pack` would never produce: hidden ones, control characters).
 */
export async function renameInRelease(release: SmallRelease, from: string, to: string): Promise<void> {
  const entry = release.recipe.files.find((f) => f.name === from)!;
  const sha256 = "sha256" in entry ? entry.sha256 : undefined;
  const payload = (name: string) => (sha256 ? `${name}.${sha256}.enc` : name);
  await rename(join(release.encDir, payload(from)), join(release.encDir, payload(to)));
  entry.name = to;
  await writeFile(release.recipePath, JSON.stringify(release.recipe, null, 2));
}
