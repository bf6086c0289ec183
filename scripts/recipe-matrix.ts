// node --conditions=source --import tsx scripts/recipe-matrix.ts [--manifests <dir>] [--github-output]
// Prints the recover workflow's matrix, {"include":[{"recipe","title","real"}, ...]}, one entry per
// recipe in manifests/, each validated first. With --github-output it also appends to $GITHUB_OUTPUT:
// `matrix` (every recipe), `real` (only those needing real base weights) and `has-real` (true|false),
// since a job-level `if:` cannot see `matrix.real`; then the graph of bases: `synthetic` (the XOR
// releases; each recipe it leaves out, a conversion or a delta, is named in a ::notice:: on stderr),
// `real-first` (real recipes on a base checkpoint), `real-then` (those built on another recipe's
// output, run after it) and `has-real-then`.
import { appendFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { bundledManifestsDir } from "@model-recover/pipeline";
import { realOnly, realStages, recipeMatrix, syntheticLeftOut, syntheticOnly } from "./recipe-matrix-lib.js";

const { values } = parseArgs({
  options: {
    manifests: { type: "string" },
    "github-output": { type: "boolean", default: false },
  },
});

try {
  const matrix = await recipeMatrix(values.manifests ? resolve(values.manifests) : bundledManifestsDir);
  const json = JSON.stringify(matrix);
  process.stdout.write(`${json}\n`);
  if (values["github-output"]) {
    const outputFile = process.env.GITHUB_OUTPUT;
    if (!outputFile) throw new Error("--github-output: GITHUB_OUTPUT is not set (it is set inside a GitHub Actions step)");
    const real = realOnly(matrix);
    const stages = realStages(matrix);
    const graph = `synthetic=${JSON.stringify(syntheticOnly(matrix))}\nreal-first=${JSON.stringify(stages.first)}\nreal-then=${JSON.stringify(stages.after)}\nhas-real-then=${stages.after.include.length > 0}\n`;
    await appendFile(outputFile, `matrix=${json}\nreal=${JSON.stringify(real)}\nhas-real=${real.include.length > 0}\n${graph}`);
    // An annotation on the run: a recipe without a synthetic job is seen to have none, and why.
    for (const line of syntheticLeftOut(matrix)) process.stderr.write(`::notice title=not in the synthetic job::${line}\n`);
  }
} catch (error) {
  process.stderr.write(`recipe-matrix: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
