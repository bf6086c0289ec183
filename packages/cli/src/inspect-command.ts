import { resolve } from "node:path";
import { asciiJson, inspectPath, printable, UsageError } from "@model-recover/pipeline";
import type { CommandContext } from "./context.js";
import { ExitCode } from "./exit-codes.js";
import { inspectLines } from "./inspect-text.js";
import { type CommandSpec, helpText, parseCommand } from "./options.js";

export const inspectSpec: CommandSpec = {
  name: "inspect",
  positionals: "<file|folder>",
  summary:
    "List every tensor of a .bin (torch.save) or .safetensors file with its dtype, shape and size, the totals, the parameter count and which tensors share a storage, from the file's headers alone: the weights are never read and no pickle code is run. For a model folder, also check it: every tensor the index (pytorch_model.bin.index.json, model.safetensors.index.json) lists is in the shard it names and no shard holds an unlisted one, every shape is what config.json implies for a LLaMA, and .bin and .safetensors files side by side hold the same tensors. Exit 0 when the folder is consistent; 4 when it is not (every problem is listed) or a file cannot be read.",
  options: {
    json: { type: "boolean", description: "print the report as JSON for machines (ASCII; its shape is documented in the README and versioned by its \"version\" field)" },
    help: { type: "boolean", short: "h", description: "show this help" },
  },
};

export async function inspectCommand(argv: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommand(inspectSpec, argv);
  if (values.help) {
    context.stdout.write(`${helpText(inspectSpec)}\n`);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one file or folder, found ${positionals.length}: model-recover inspect <file|folder> (try --help)`);
  const report = await inspectPath(resolve(context.cwd, positionals[0]!));
  const lines = values.json ? asciiJson(report, 2).split("\n") : inspectLines(report);
  context.stdout.write(`${lines.map(printable).join("\n")}\n`);
  return report.consistent ? ExitCode.ok : ExitCode.badInput;
}
