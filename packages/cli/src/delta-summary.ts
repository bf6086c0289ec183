import { type ApplyDeltaSummary, printable, type Recipe } from "@model-recover/pipeline";
import { checkLines, closingLines, fileLines, usage } from "./summary.js";

/**
 * The end of applying a delta: the two inputs and the math, each output file as a recovery lists it,
 * what was fixed on the way, what no published hash could check, and how to use the model.
 */
export function formatDeltaSummary(summary: ApplyDeltaSummary, recipe?: Recipe): string {
  const grown = summary.vocab !== summary.baseVocab ? `, grown to ${summary.vocab} tokens with the [PAD] row of zeros first` : "";
  const lines = [
    `base:  ${printable(summary.baseDir)} (${printable(summary.model)}, ${summary.baseVocab} tokens${grown})`,
    `delta: ${printable(summary.deltaDir)} (${summary.vocab} tokens, ${summary.math}: tuned = base + delta per tensor in float16, as FastChat's apply_delta with torch)`,
    "",
    ...fileLines(summary),
  ];
  for (const fix of summary.fixes) lines.push(`fixed ${printable(fix.file)}: ${printable(fix.what)}`);
  lines.push(...checkLines(summary));
  for (const note of summary.unchecked) lines.push(`not checked: ${printable(note)}`);
  const what = `${recipe ? recipe.title : `the tuned ${summary.model}`} (${summary.format === "bin" ? ".bin" : "safetensors"})`;
  const closing = closingLines(summary, `All ${summary.files.length} files of ${printable(what)} made and verified in ${printable(summary.outDir)}`);
  return `${[...lines, "", ...closing, ...(summary.ok && recipe ? usage(recipe, summary.outDir) : [])].join("\n")}\n`;
}
