import { createRequire } from "node:module";
import { convertCommand, convertSpec } from "./convert-command.js";
import { identifyCommand, identifySpec } from "./identify-command.js";
import { inspectCommand, inspectSpec } from "./inspect-command.js";
import { listCommand, listSpec } from "./list-command.js";
import type { CommandSpec } from "./options.js";
import { packCommand, packSpec } from "./pack-command.js";
import { recipeCommand, recipeSpec } from "./recipe-command.js";
import { recoverCommand, recoverSpec } from "./recover-command.js";
import { downloadCommand, downloadSpec } from "./download-command.js";
import { convertLlamaCommand, convertLlamaSpec } from "./convert-llama-command.js";
import { applyDeltaCommand, applyDeltaSpec } from "./apply-delta-command.js";
import { ExitCode, UsageError, exitCodeFor, exitCodesHelp, isInputProblem, isParseArgsError } from "./exit-codes.js";
import type { CommandContext } from "./context.js";
import { printable, RecoverError } from "@model-recover/pipeline";

interface Command {
  spec: CommandSpec;
  /** What `model-recover --help` says of it, in a line. */
  line: string;
  run: (argv: string[], context: CommandContext) => Promise<number>;
}

const commands: Record<string, Command> = {
  recover: { spec: recoverSpec, line: "recover a published release into a verified Hugging Face folder", run: recoverCommand },
  pack: { spec: packSpec, line: "publish a fine-tuned folder as a release, with its md5 lists and recipe", run: packCommand },
  recipe: { spec: recipeSpec, line: "build a recipe from a downloaded release and its card's md5 lists", run: recipeCommand },
  list: { spec: listSpec, line: "the recipes that come with model-recover, their base, format, size and checks", run: listCommand },
  identify: { spec: identifySpec, line: "name the known base checkpoint a file is, and the recipes it unlocks", run: identifyCommand },
  inspect: { spec: inspectSpec, line: "list a .bin or .safetensors file's tensors; check a model folder's shards and index", run: inspectCommand },
  convert: { spec: convertSpec, line: "a recovered folder's .bin shards to safetensors, as HF's convert.py writes them", run: convertCommand },
  "convert-llama": { spec: convertLlamaSpec, line: "convert Meta's original LLaMA into the Hugging Face folder of 2023, byte for byte", run: convertLlamaCommand },
  "apply-delta": { spec: applyDeltaSpec, line: "add a published additive delta (Vicuna, StableVicuna) back to LLaMA in Hugging Face format, tensor-exact", run: applyDeltaCommand },
  download: { spec: downloadSpec, line: "download a release from the Hugging Face Hub, verified and resumable", run: downloadCommand },
};

/** Every command's declaration, for the README's tables and the tests that keep them in step. */
export const commandSpecs = Object.values(commands).map((c) => c.spec);

export function mainHelp(): string {
  const rows = Object.values(commands).map(({ spec, line }) => [`${spec.name}${spec.positionals ? ` ${spec.positionals}` : ""}`, line] as const);
  const width = Math.max(...rows.map(([usage]) => usage.length)) + 2;
  return [
    "Usage: model-recover <command> [options]",
    "",
    "Commands:",
    ...rows.map(([usage, line]) => `  ${usage.padEnd(width)}${line}`),
    "",
    "Run model-recover <command> --help for its options, model-recover --version for the version. At the",
    "repository root, pnpm recover <recipe> runs model-recover recover <recipe> as a cached turbo task.",
    "",
    exitCodesHelp,
  ].join("\n");
}

const cliVersion = (createRequire(import.meta.url)("@model-recover/cli/package.json") as { version: string }).version;

/** Parse argv, run the command, print a one-line error and pick the exit code. The only place that does. */
export async function runCli(argv: string[], context: CommandContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    context.stdout.write(`${mainHelp()}\n`);
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === "--version" || name === "-v") {
    context.stdout.write(`model-recover ${cliVersion}\n`);
    return ExitCode.ok;
  }
  const command = commands[name];
  try {
    if (!command) throw new UsageError(`unknown command "${name}"; expected one of: ${Object.keys(commands).join(", ")} (try --help)`);
    return await command.run(rest, context);
  } catch (error) {
    return reportError(error, context);
  }
}

/** The one-line error and the exit code, for glue that works outside a command (pnpm recover's cache hit). */
export function reportError(error: unknown, context: Pick<CommandContext, "stderr">): number {
  context.stderr.write(`model-recover: ${describeError(error)}\n`);
  return exitCodeFor(error);
}

function describeError(error: unknown): string {
  // The libraries' typed errors already say which file and what to do; whatever of an input they
  // quote (a name, a title) is shown with its control characters escaped.
  if (isInputProblem(error) || error instanceof RecoverError) return (error as Error).message.split("\n").map(printable).join("\n");
  if (isParseArgsError(error)) return `${printable((error as Error).message)} (try --help)`;
  return `unexpected error: ${(error as Error).stack ?? String(error)}`;
}
