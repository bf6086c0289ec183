import { identifyCommand } from "./identify-command.js";
import { listCommand } from "./list-command.js";
import { packCommand } from "./pack-command.js";
import { recipeCommand } from "./recipe-command.js";
import { recoverCommand } from "./recover-command.js";
import { ExitCode, UsageError, exitCodeFor, exitCodesHelp, isParseArgsError } from "./exit-codes.js";
import type { CommandContext } from "./context.js";
import { ChecksumListError } from "@model-recover/md5-manifest";
import { KeyError } from "@model-recover/xor-core";
import { InputFileError } from "@model-recover/safe-fs";
import { printable, RecoverError } from "@model-recover/pipeline";

const commands: Record<string, (argv: string[], context: CommandContext) => Promise<number>> = {
  recover: recoverCommand,
  pack: packCommand,
  recipe: recipeCommand,
  list: listCommand,
  identify: identifyCommand,
};

export const mainHelp = `Usage: model-recover <command> [options]

Commands:
  recover <recipe>   recover a published XOR release into a verified Hugging Face folder
  pack               encrypt a fine-tuned folder into a release, with its md5 lists and recipe
  recipe from-folder build a recipe from a downloaded release and its card's md5 lists
  list               the recipes under manifests/ with their base, format, size and what is verifiable
  identify <file>    name the known base checkpoint a file is, and the recipes it unlocks

Run model-recover <command> --help for its options. At the repository root, pnpm recover <recipe>
is a shortcut for model-recover recover <recipe>.

${exitCodesHelp}`;

/** Parse argv, run the command, print a one-line error and pick the exit code. The only place that does. */
export async function runCli(argv: string[], context: CommandContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    context.stdout.write(`${mainHelp}\n`);
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const command = commands[name];
  try {
    if (!command) throw new UsageError(`unknown command "${name}"; expected one of: ${Object.keys(commands).join(", ")} (try --help)`);
    return await command(rest, context);
  } catch (error) {
    context.stderr.write(`model-recover: ${describeError(error)}\n`);
    return exitCodeFor(error);
  }
}

function describeError(error: unknown): string {
  // The libraries' typed errors already say which file and what to do; whatever of an input they
  // quote (a name, a title) is shown with its control characters escaped.
  const known = error instanceof RecoverError || error instanceof ChecksumListError || error instanceof KeyError || error instanceof InputFileError;
  if (known) return (error as Error).message.split("\n").map(printable).join("\n");
  if (isParseArgsError(error)) return `${printable((error as Error).message)} (try --help)`;
  return `unexpected error: ${(error as Error).stack ?? String(error)}`;
}
