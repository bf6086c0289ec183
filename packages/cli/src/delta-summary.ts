import { type ApplyDeltaSummary, printable, type Recipe } from "@model-recover/pipeline";
import { checkLines, closingLines, fileLines, usage } from "./summary.js";

/**
 * The end of applying a delta: the two inputs and the math, each output file as a recovery lists it,
 * what was fixed on the way, what no published hash could check, and how to use the model.
 */
export function formatDeltaSummary(summary: ApplyDeltaSummary, recipe?: Recipe): string {
  const padRow = summary.math === "weight-diff" ? "the mean of its rows" : "zeros";
  const grown = summary.vocab !== summary.baseVocab ? `, grown to ${summary.vocab} tokens with the [PAD] row of ${padRow} first` : "";
  const math = summary.math === "weight-diff" ? "tuned = raw + diff per tensor in float32, as weight_diff.py with torch" : "tuned = base + delta per tensor in float16, as FastChat's apply_delta with torch";
  const lines = [
    `base:  ${printable(summary.baseDir)} (${printable(summary.model)}, ${summary.baseVocab} tokens${grown})`,
    `delta: ${printable(summary.deltaDir)} (${summary.vocab} tokens, ${summary.math}: ${math})`,
    "",
    ...fileLines(summary),
  ];
  for (const fix of summary.fixes) lines.push(`fixed ${printable(fix.file)}: ${printable(fix.what)}`);
  lines.push(...checkLines(summary));
  for (const note of summary.unchecked) lines.push(`not checked: ${printable(note)}`);
  const sum = summary.paramSum;
  if (sum) {
    if (sum.got === undefined) lines.push(`parameter sum: not checked (files were kept from an earlier run; delete them to check it)`);
    else lines.push(`parameter sum: ${sum.got.toFixed(4)}, ${sum.ok ? "within" : "NOT within"} ${sum.tolerance} of the published ${sum.expected} (weight_diff.py's integrity check)`);
  }
  const what = `${recipe ? recipe.title : `the tuned model (${summary.model})`} (${summary.format === "bin" ? ".bin" : "safetensors"})`;
  const closing = closingLines(summary, `All ${summary.files.length} files of ${printable(what)} made and verified in ${printable(summary.outDir)}`);
  return `${[...lines, "", ...closing, ...(summary.ok && recipe ? usage(recipe, summary.outDir) : [])].join("\n")}\n`;
}
