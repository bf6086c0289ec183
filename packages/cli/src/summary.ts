import { formatBytes, printable, type Recipe, type RecoverSummary } from "@model-recover/pipeline";

const CHECK_WORDS = { "header-sha256": "header sha256", "card-md5": "card md5" } as const;

/** The end of a run: each file with size, md5 and what verified it; then how to use the result. */
export function formatSummary(summary: RecoverSummary, recipe: Recipe, outDir: string): string {
  const lines = fileLines(summary);
  for (const name of summary.absentClearFiles) lines.push(`${printable(name)}: not in the release folder, not copied (not needed to load the model)`);
  lines.push(...checkLines(summary));
  return `${[...lines, "", ...closingLines(summary, `All ${summary.files.length} files of ${printable(recipe.title)} verified in ${printable(outDir)}`), ...(summary.ok ? usage(recipe, outDir) : [])].join("\n")}\n`;
}

/** One row per file: name, size, md5, and what verified it (or FAILED). */
export function fileLines(summary: RecoverSummary): string[] {
  const rows = summary.files.map((f): string[] => {
    if (f.status === "failed") return [printable(f.name), formatBytes(f.bytes), "-", "FAILED"];
    const checks = f.file.checks.map((c) => CHECK_WORDS[c]).join(" + ") || "no published hash to check";
    const from = f.restored ? ", from the output store" : f.reused ? ", from an earlier run" : "";
    if (f.file.from) return [printable(f.file.name), formatBytes(f.file.bytes), "-", `converted from ${printable(f.file.from)}, verified (${checks})${from}`];
    // Where no md5 was computed (--verify sha256; a conversion with no md5 published) the sha256 is shown.
    const digest = f.file.md5 ?? (f.file.sha256 ? `sha256 ${f.file.sha256}` : "(md5 not computed)");
    return [printable(f.file.name), formatBytes(f.file.bytes), digest, `verified (${checks})${from}`];
  });
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join("  "));
}

/** What no card md5 could check, and the layout check's warnings. */
export function checkLines(summary: RecoverSummary): string[] {
  const lines: string[] = [];
  const noMd5 = summary.files.flatMap((f) => (f.status === "verified" && !f.file.from && !f.file.checks.includes("card-md5") ? [f.file.name] : []));
  if (noMd5.length > 0) lines.push(`not checked against a card md5 (${summary.verify === "sha256" ? "--verify sha256, or the card publishes none" : "the card publishes none"}): ${noMd5.map(printable).join(", ")}`);
  // The layout check warns; it never fails files that verified against their header or card.
  for (const problem of summary.folderProblems) lines.push(`warning: the folder is not a complete Hugging Face model: ${printable(problem)}`);
  return lines;
}

/** The last line: `<allVerified> (size in time).`, or how many files failed and what to do. */
export function closingLines(summary: RecoverSummary, allVerified: string): string[] {
  const failed = summary.files.filter((f) => f.status === "failed").length;
  const total = summary.files.reduce((sum, f) => sum + (f.status === "verified" ? f.file.bytes : 0), 0);
  if (summary.ok) return [`${allVerified} (${formatBytes(total)} in ${summary.seconds.toFixed(1)} s).`];
  return [`${failed} of ${summary.files.length} files did not verify; nothing unverified was kept under a final name. Fix what is named above and run again: verified files are not redone.`];
}

export function usage(recipe: Recipe, outDir: string): string[] {
  const lines: string[] = [];
  if (recipe.load?.length) lines.push("", "Load it with:", ...recipe.load.map((l) => `  ${printable(l.replaceAll("{out}", outDir))}`));
  if (recipe.prompt) lines.push("", `Prompt format it was trained with${recipe.card ? ` (${printable(recipe.card)})` : ""}:`, `  ${JSON.stringify(recipe.prompt)}`);
  return lines;
}
