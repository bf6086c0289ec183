import { formatBytes, type InspectedFile, type InspectReport, type LlamaDimensions, type WeightSet, type WeightTotals } from "@model-recover/pipeline";

const FORMAT_WORDS = { pytorch: "PyTorch checkpoint (torch.save zip)", safetensors: "safetensors" } as const;

/**
 * The report as people read it: each weight file with every tensor, its totals and what shares a
 * storage; for a folder, what config.json says, each format's totals, then the verdict and every
 * problem. Lines are returned unescaped; the caller prints each through printable().
 */
export function inspectLines(report: InspectReport): string[] {
  const lines: string[] = [];
  if (report.kind === "folder") {
    lines.push(`${report.path}: model folder`);
    if (report.config) lines.push(`config.json: ${describeConfig(report.config)}`);
    lines.push(...report.notes.map((note) => `note: ${note}`), "");
  }
  for (const file of report.files) lines.push(...fileLines(file), "");
  if (report.kind === "file") return lines.slice(0, -1);
  for (const set of report.weightSets) lines.push(setLine(set));
  if (report.consistent) {
    lines.push(`consistent: ${verdict(report)}`);
    return lines;
  }
  lines.push(`${plural(report.problems.length, "problem")}: the folder is inconsistent`);
  lines.push(...report.problems.map((p) => `  ${p.file}: ${p.message}`));
  return lines;
}

function fileLines(file: InspectedFile): string[] {
  const rows = [["tensor", "dtype", "shape", "size"], ...file.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(", ")}]`, formatBytes(t.bytes)])];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = [`${file.file}: ${FORMAT_WORDS[file.format]}, ${formatBytes(file.bytes)}`];
  lines.push(...rows.map((r) => `  ${r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join("  ")}`));
  lines.push(`  ${totalsText(file.totals)}`);
  for (const shared of file.sharedStorages) lines.push(`  storage ${JSON.stringify(shared.storage)} (${formatBytes(shared.bytes)}) is shared by ${shared.tensors.join(", ")}`);
  for (const [dropped, kept] of Object.entries(file.droppedNames)) lines.push(`  ${dropped}: not stored; it shares the storage of ${kept} (recorded in __metadata__)`);
  return lines;
}

function totalsText(totals: WeightTotals): string {
  const dtypes = Object.entries(totals.dtypes).map(([dtype, count]) => `${dtype} x${count}`).join(", ");
  return `${plural(totals.tensors, "tensor")} (${dtypes || "none"}), ${totals.parameters.toLocaleString("en-US")} parameters, ${formatBytes(totals.storedBytes)} of weights`;
}

function setLine(set: WeightSet): string {
  const via = set.index ? ` listed by ${set.index}` : "";
  return `${set.format} weights: ${plural(set.files.length, "file")}${via}; ${totalsText(set.totals)}`;
}

function describeConfig(d: LlamaDimensions): string {
  const kind = [d.modelType, ...d.architectures].filter(Boolean).join(", ") || "LLaMA";
  const kv = d.kvHeads === d.heads ? "" : ` (${d.kvHeads} key/value)`;
  return `${kind}: hidden ${d.hidden}, ${plural(d.layers, "layer")}, ${plural(d.heads, "head")}${kv}, head size ${d.headDim}, intermediate ${d.intermediate}, vocabulary ${d.vocab}${d.tiedEmbeddings ? ", tied embeddings" : ""}`;
}

function verdict(report: InspectReport): string {
  const indexes = report.weightSets.flatMap((set) => (set.index ? [set.index] : []));
  const listed = indexes.length === 1 ? `every tensor ${indexes[0]} lists` : `every tensor each index (${indexes.join(", ")}) lists`;
  const parts = [indexes.length > 0 ? `${listed} is in the shard it names and no shard holds an unlisted one` : "one weight file per format, no index needed"];
  if (report.config) parts.push("every tensor has the shape config.json implies");
  if (report.weightSets.length === 2) parts.push("the .bin and .safetensors files hold the same tensors");
  return parts.join("; ");
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
