import { type CheckedInput, type ConvertLlamaSummary, formatBytes, printable, type Recipe } from "@model-recover/pipeline";
import { checkLines, closingLines, fileLines, usage } from "./summary.js";

/**
 * The end of a conversion: what was checked of each input, each output file as a recovery lists
 * it, what a dry run left out, what the published folder has that is not made here, and how to use it.
 */
export function formatConvertSummary(summary: ConvertLlamaSummary, outDir: string, recipe?: Recipe): string {
  const lines = [`inputs (${printable(summary.model)}):`, ...inputLines(summary.inputs), "", ...fileLines(summary)];
  if (summary.notWritten.length > 0) {
    const bytes = summary.notWritten.reduce((sum, s) => sum + s.bytes, 0);
    lines.push(`dry run: not written, ${summary.notWritten.length} weight file${summary.notWritten.length > 1 ? "s" : ""} (${formatBytes(bytes)}): ${summary.notWritten.map((s) => `${s.name} (${s.bytes} bytes)`).join(", ")}`);
  }
  for (const file of summary.notMade) lines.push(`${printable(file.name)}: ${file.md5 ? `published (md5 ${file.md5}) but ` : ""}not made here: ${file.why}`);
  lines.push(...checkLines(summary));
  const what = summary.dryRun ? `the small files and the index of ${summary.model}` : `${summary.model} (${summary.format === "bin" ? ".bin" : "safetensors"})`;
  const closing = closingLines(summary, `All ${summary.files.length} files of ${printable(what)} converted and verified in ${printable(outDir)}`);
  return `${[...lines, "", ...closing, ...(summary.ok && recipe && !summary.dryRun ? usage(recipe, outDir) : [])].join("\n")}\n`;
}

function inputLines(inputs: readonly CheckedInput[]): string[] {
  const rows = inputs.map((input) => {
    const check = input.md5 ? `md5 ${input.md5}, the published one` : input.published ? `published md5 ${input.published}, not hashed (the shape check only was asked for)` : "no published md5 to check";
    return [printable(input.name), formatBytes(input.bytes), check];
  });
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map(([name, bytes, check]) => `  ${name!.padEnd(widths[0]!)}  ${bytes!.padEnd(widths[1]!)}  ${check}`);
}
