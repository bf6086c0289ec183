// node --conditions=source --import tsx scripts/real-recover-args.ts <recipe>
// The arguments of `pnpm recover` for the recover workflow's real jobs, one per line: one recipe
// against the real weights, its paths from LLAMA_ROOT, RELEASES_ROOT and RECOVERED_ROOT (optional;
// default RUNNER_TEMP/recovered). See scripts/real-recover-lib.ts for what each kind of recipe reads.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRecipe } from "@model-recover/pipeline";
import { realRecoverArgs } from "./real-recover-lib.js";

try {
  const recipe = process.argv[2];
  if (!recipe || process.argv.length !== 3) throw new Error("usage: real-recover-args.ts <recipe>");
  const { LLAMA_ROOT, RELEASES_ROOT, RECOVERED_ROOT, RUNNER_TEMP } = process.env;
  for (const [name, value] of Object.entries({ LLAMA_ROOT, RELEASES_ROOT })) {
    if (!value) throw new Error(`repository variable ${name} is not set (Settings > Secrets and variables > Actions > Variables)`);
  }
  const loaded = await loadRecipe(recipe);
  const args = realRecoverArgs(loaded, { llama: LLAMA_ROOT!, releases: RELEASES_ROOT!, ...(RECOVERED_ROOT ? { recovered: RECOVERED_ROOT } : {}), temp: join(RUNNER_TEMP || tmpdir(), "recovered") });
  process.stderr.write(`real-recover-args: ${loaded.recipe.title}: pnpm ${args.join(" ")}\n`);
  process.stdout.write(`${args.join("\n")}\n`);
} catch (error) {
  process.stderr.write(`real-recover-args: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
