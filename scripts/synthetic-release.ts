// node --conditions=source --import tsx scripts/synthetic-release.ts <recipe name or path> --out <dir> [--scale <bytes per GB>] [--seed <n>]
// Builds a release of the recipe's own shape (same file names, sizes scaled down, a seeded base) in
// <dir>/release with its recipe in <dir>/recipe.json, and prints the command that recovers it.
// CI recovers every recipe's shape this way without the real weights.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadRecipe } from "@model-recover/pipeline";
import { buildSyntheticRelease, DEFAULT_BYTES_PER_GB } from "./synthetic-release-lib.js";

const usage = "usage: synthetic-release.ts <recipe name or path> --out <dir> [--scale <bytes per GB>] [--seed <n>]";
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: "string" },
    scale: { type: "string", default: String(DEFAULT_BYTES_PER_GB) },
    seed: { type: "string", default: "1" },
  },
});
const bytesPerGB = Number(values.scale);
const seed = Number(values.seed);

try {
  if (positionals.length !== 1 || !values.out) throw new Error(usage);
  if (!(bytesPerGB > 0)) throw new Error(`--scale ${values.scale}: expected a positive number of bytes per GB`);
  if (!Number.isInteger(seed) || seed < 1 || seed > 0xffff_0000) throw new Error(`--seed ${values.seed}: expected a positive integer`);
  // pnpm runs scripts from the repository root; INIT_CWD is where the command was typed.
  const cwd = process.env.INIT_CWD ?? process.cwd();
  const { recipe } = await loadRecipe(positionals[0]!, { cwd });
  const release = await buildSyntheticRelease({ recipe, outDir: resolve(cwd, values.out), bytesPerGB, seed });
  process.stderr.write(`synthetic-release: ${release.recipe.files.length} files shaped like ${recipe.name} in ${release.encDir}\n`);
  process.stdout.write(`pnpm model-recover ${release.recoverArgs.map(shellQuote).join(" ")}\n`);
} catch (error) {
  process.stderr.write(`synthetic-release: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}

function shellQuote(arg: string): string {
  return /^[\w./:=@-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
