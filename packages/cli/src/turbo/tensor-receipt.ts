import { join } from "node:path";
import { checkHfFolder, describeProblem } from "@model-recover/hf-layout";
import { hashFile } from "@model-recover/md5-manifest";
import type { KnownOutput, LoadedTensorRecipe } from "@model-recover/pipeline";

const TORCH_WEIGHTS = /^pytorch_model(-\d+-of-\d+)?\.bin(\.index\.json)?$/;
/** Small files are hashed again on a hit: cheap, and the receipt's own md5 is only what the cache says. */
const REHASH_BYTES = 16 * 1024 * 1024;

/**
 * Why a cached receipt cannot stand for this recipe's outputs, or undefined: it must name every file
 * the recipe makes in this format (the .bin weights are model-*.safetensors with --to safetensors),
 * each with the md5 the recipe publishes for it. The store only vouches that an entry holds its
 * sha256, not that this sha256 is the right output.
 */
export function receiptProblem(loaded: LoadedTensorRecipe, known: ReadonlyMap<string, KnownOutput>, to: string): string | undefined {
  for (const file of loaded.recipe.files) {
    if (to === "safetensors" && TORCH_WEIGHTS.test(file.name)) continue;
    const entry = known.get(file.name);
    if (!entry) return `it does not name ${file.name}`;
    if (file.md5 && entry.md5 !== file.md5) return `its ${file.name} is not the one whose md5 the recipe publishes`;
    if (file.size !== undefined && entry.size !== file.size) return `its ${file.name} is not the size the recipe gives`;
  }
  if (to === "safetensors" && ![...known.keys()].some((name) => name.endsWith(".safetensors"))) return "it names no safetensors file";
  return undefined;
}

/** After the put-back: the small files hash to the published md5, and the folder is a whole Hugging Face folder. */
export async function putBackProblem(loaded: LoadedTensorRecipe, known: ReadonlyMap<string, KnownOutput>, outDir: string): Promise<string | undefined> {
  for (const file of loaded.recipe.files) {
    const size = known.get(file.name)?.size;
    if (!file.md5 || size === undefined || size > REHASH_BYTES) continue;
    const { md5 } = await hashFile(join(outDir, file.name), ["md5"]);
    if (md5 !== file.md5) return `${file.name} has md5 ${md5}, not the published ${file.md5}`;
  }
  const problems = (await checkHfFolder(outDir)).problems.map(describeProblem);
  return problems[0];
}
