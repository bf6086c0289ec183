import { type AnyLoadedRecipe, formatBytes, isDeltaPipeline, isEncrypted, isTensorPipeline, loadRecipe, printable, recipeNames, type Recipe } from "@model-recover/pipeline";
import type { CommandContext } from "./context.js";
import { ExitCode } from "./exit-codes.js";
import { type CommandSpec, helpText, parseCommand } from "./options.js";

export const listSpec: CommandSpec = {
  name: "list",
  summary: "The recipes that come with model-recover: name, base checkpoint, format, size where known, and which checks the card's published hashes allow.",
  options: { help: { type: "boolean", short: "h", description: "show this help" } },
};

export async function listCommand(argv: string[], context: CommandContext): Promise<number> {
  const { values } = parseCommand(listSpec, argv);
  if (values.help) {
    context.stdout.write(`${helpText(listSpec)}\n`);
    return ExitCode.ok;
  }
  const rows = [["recipe", "base", "format", "size", "verifiable", "hub"]];
  for (const name of await recipeNames()) {
    const loaded = await loadRecipe(name, { cwd: context.cwd });
    rows.push([loaded.recipe.name, loaded.base.title, loaded.pipeline.name, knownSize(loaded.recipe), verifiable(loaded), hubColumn(loaded.recipe)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  context.stdout.write(`${rows.map((r) => r.map((cell, i) => printable(cell).padEnd(widths[i]!)).join("  ").trimEnd()).join("\n")}\n`);
  return ExitCode.ok;
}

/** The repo `--from-hub` and `download` read, with the pinned commit's first digits; "-" where none is known. */
function hubColumn({ hub }: Recipe): string {
  if (!hub) return "-";
  return `${hub.repo}${hub.revision ? `@${hub.revision.slice(0, 7)}` : ""}${hub.folder ? ` (${hub.folder}/)` : ""}`;
}

function knownSize(recipe: Recipe): string {
  const sizes = recipe.files.map((f) => f.size);
  return sizes.every((s) => s !== undefined) ? formatBytes(sizes.reduce((a, b) => a! + b!, 0)!) : "unknown";
}

/**
 * Which checks the published hashes allow: a header always verifies its file; the card's md5 where
 * published; a conversion's inputs, where their md5s are published. A delta's inputs are its base,
 * which the base column names (that recipe's output, checked as it is made), and the delta folder,
 * whose files nobody published an md5 of: its base's md5s are no input md5s of its own.
 */
function verifiable({ recipe, pipeline, base }: AnyLoadedRecipe): string {
  const withMd5 = recipe.files.filter((f) => f.md5 !== null).length;
  const md5 = `card md5 ${withMd5}/${recipe.files.length}`;
  if (isDeltaPipeline(pipeline)) return ["no delta md5 published", ...(recipe.paramSum ? ["parameter sum"] : []), md5].join(", ");
  if (isTensorPipeline(pipeline)) {
    const inputs = base.files ?? [];
    return `input md5 ${inputs.filter((f) => f.md5 !== null).length}/${inputs.length}, ${md5}`;
  }
  if (pipeline.header !== "sha256") return md5;
  const encrypted = recipe.files.filter(isEncrypted).length;
  return `header sha256 ${encrypted}/${encrypted}, ${md5}`;
}
