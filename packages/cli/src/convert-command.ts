import { resolve } from "node:path";
import { type ConvertEvent, convertFolder, type ConvertSummary, formatBytes, printable, UsageError } from "@model-recover/pipeline";
import type { CommandContext } from "./context.js";
import { ExitCode, exitCodesHelp } from "./exit-codes.js";
import { type CommandSpec, helpText, parseCommand } from "./options.js";

export const convertSpec: CommandSpec = {
  name: "convert",
  positionals: "<folder>",
  summary:
    "Convert an already recovered model folder's .bin shards to safetensors, as Hugging Face's convert.py does: model-0000N-of-0000M.safetensors per pytorch_model-0000N-of-0000M.bin and model.safetensors.index.json (its weight_map renamed, metadata.total_size kept), or model.safetensors for a single pytorch_model.bin. Tensors sharing a storage are written once, the other names recorded in __metadata__.",
  options: {
    out: { type: "string", value: "<folder>", description: "where the safetensors files go (default: the folder itself, next to the .bin files, which are never touched); another folder also gets the non-weight files (config.json, tokenizer files...) copied as they are, and must not be inside the model folder or hold it" },
    help: { type: "boolean", short: "h", description: "show this help" },
  },
  notes:
    "The folder is inspected first (model-recover inspect) and refused if its .bin files and their index disagree. Every output is written under a temporary name in <out>/.model-recover and all are renamed into place only once every one is complete, the index last; files of the same names already there are replaced. Only the pickles and headers are interpreted, nothing in them is run.",
};

export async function convertCommand(argv: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommand(convertSpec, argv);
  if (values.help) {
    context.stdout.write(`${helpText(convertSpec, exitCodesHelp)}\n`);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one folder, found ${positionals.length}: model-recover convert <folder> [--out <folder>] (try --help)`);
  const summary = await convertFolder({
    inDir: resolve(context.cwd, positionals[0]!),
    ...(values.out ? { outDir: resolve(context.cwd, values.out as string) } : {}),
    onEvent: (event) => drawEvent(event, context.stderr),
    ...(context.signal ? { signal: context.signal } : {}),
  });
  context.stdout.write(`${convertSummaryLines(summary).map(printable).join("\n")}\n`);
  return ExitCode.ok;
}

/** A line per step: a shard takes seconds to a minute, and is written whole or not at all. */
function drawEvent(event: ConvertEvent, stderr: NodeJS.WritableStream): void {
  const say = (line: string): void => void stderr.write(`${printable(line)}\n`);
  switch (event.type) {
    case "planned":
      return say(`${event.shards.length} ${event.shards.length === 1 ? "file" : "files"} to convert (${formatBytes(event.totalBytes)})${event.copies.length > 0 ? `, ${event.copies.length} to copy` : ""}`);
    case "room-checked":
      return say(`room: ${formatBytes(event.neededBytes)} needed, ${formatBytes(event.freeBytes)} free`);
    case "shard-started":
      return say(`converting ${event.bin} (${formatBytes(event.bytes)}) to ${event.safetensors}`);
    case "shard-converted":
    case "published":
      return;
  }
}

function convertSummaryLines(summary: ConvertSummary): string[] {
  const rows = summary.shards.map((s) => [s.safetensors, formatBytes(s.bytes), `${s.tensors} tensors`, `from ${s.bin}`]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join("  "));
  for (const shard of summary.shards) {
    for (const [dropped, kept] of Object.entries(shard.droppedNames)) lines.push(`${shard.safetensors}: ${dropped} is stored once, as ${kept} (recorded in __metadata__)`);
  }
  if (summary.index) lines.push(`${summary.index}: weight_map renamed, metadata kept`);
  if (summary.copied.length > 0) lines.push(`copied as they are: ${summary.copied.join(", ")}`);
  for (const warning of summary.warnings) lines.push(`warning: ${warning.file}: ${warning.message}`);
  const total = summary.shards.reduce((sum, s) => sum + s.bytes, 0);
  const where = summary.inPlace ? `next to the .bin files in ${summary.outDir}` : `in ${summary.outDir}`;
  lines.push("", `Converted ${summary.shards.length} ${summary.shards.length === 1 ? "file" : "files"} to safetensors ${where} (${formatBytes(total)} in ${summary.seconds.toFixed(1)} s).`);
  lines.push("transformers loads the safetensors files in preference to the .bin ones (from_pretrained, use_safetensors=True to insist).");
  return lines;
}
