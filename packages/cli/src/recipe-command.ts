import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseChecksumList, type ChecksumEntry } from "@model-recover/md5-manifest";
import type { CommandContext } from "./context.js";
import { ExitCode, UsageError } from "./exit-codes.js";
import { recipeFromFolder } from "@model-recover/pipeline";
import { InputFileError, readSmallFile } from "@model-recover/safe-fs";

export const recipeHelp = `Usage: model-recover recipe from-folder <folder> --name <name> [--format <pipeline>] [--md5 <list>]... [--out <file>]
                          [--title <text>] [--card <url>] [--prompt <text>]
                          [--base-id <id> | --base-title <text> --base-file <name> --base-md5 <hex> --base-sha256 <hex>]

Build a recipe from a downloaded release folder and the md5 lists pasted from its model card
(md5sum output, payload and recovered names in any mix; "-" reads standard input). A payload the card
lists is hashed and must match. --format names the pipeline (xor-enc by default, xor-codec,
xor-codec-gzip, xor-prefix); --base-id refers to a base in manifests/bases/ (e.g. llama-7b). Writes
the recipe to --out (e.g. manifests/<name>.json) or prints it.`;

export async function recipeCommand(argv: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      format: { type: "string", default: "xor-enc" },
      "base-id": { type: "string" },
      md5: { type: "string", multiple: true },
      out: { type: "string" },
      title: { type: "string" },
      card: { type: "string" },
      prompt: { type: "string" },
      "base-title": { type: "string" },
      "base-file": { type: "string" },
      "base-md5": { type: "string" },
      "base-sha256": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    context.stdout.write(`${recipeHelp}\n`);
    return ExitCode.ok;
  }
  const [action, folder, ...extra] = positionals;
  if (action !== "from-folder" || !folder || extra.length > 0) throw new UsageError("expected: model-recover recipe from-folder <folder> --name <name> (try --help)");
  if (!values.name) throw new UsageError("recipe from-folder needs --name <recipe name>");
  const lists: ChecksumEntry[] = [];
  for (const source of values.md5 ?? []) lists.push(...parseChecksumList(await readList(source, context), source));
  const { recipe, notes } = await recipeFromFolder({
    folder: resolve(context.cwd, folder),
    name: values.name,
    format: values.format!,
    md5Lists: lists,
    ...(values.title ? { title: values.title } : {}),
    ...(values.card ? { card: values.card } : {}),
    ...(values.prompt ? { prompt: values.prompt } : {}),
    base: values["base-id"] ?? {
      ...(values["base-title"] ? { title: values["base-title"] } : {}),
      ...(values["base-file"] ? { fileName: values["base-file"] } : {}),
      ...(values["base-md5"] ? { md5: values["base-md5"] } : {}),
      ...(values["base-sha256"] ? { sha256: values["base-sha256"] } : {}),
    },
  });
  for (const note of notes) context.stderr.write(`note: ${note}\n`);
  const text = `${JSON.stringify({ $schema: "./recipe.schema.json", ...recipe }, null, 2)}\n`;
  if (values.out) {
    await writeFile(resolve(context.cwd, values.out), text);
    context.stderr.write(`wrote ${values.out}: ${recipe.files.length} files; review it against the model card\n`);
  } else {
    context.stdout.write(text);
  }
  return ExitCode.ok;
}

async function readList(source: string, context: CommandContext): Promise<string> {
  if (source === "-") return readStdin(context);
  // A FIFO or a device given as a list is refused unread (exit 4), never waited on.
  return readSmallFile(resolve(context.cwd, source), 16 * 1024 * 1024, "md5 list").catch((error: unknown) => {
    throw error instanceof InputFileError && error.code === "INPUT_MISSING" ? new UsageError(`${source}: md5 list not found`) : error;
  });
}

async function readStdin(context: CommandContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of context.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}
