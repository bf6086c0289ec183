import { resolve } from "node:path";
import { parseChecksumList, type ChecksumEntry } from "@model-recover/md5-manifest";
import type { CommandContext } from "./context.js";
import { recipeFromFolder, refuseOverlaps, UsageError } from "@model-recover/pipeline";
import { checkOutputFile, InputFileError, type OutputFileName, readSmallFile, writeOutputFile } from "@model-recover/safe-fs";
import { ExitCode } from "./exit-codes.js";
import { type CommandSpec, helpText, parseCommand } from "./options.js";
import { parseHubRef } from "./hub-source.js";

export const recipeSpec: CommandSpec = {
  name: "recipe from-folder",
  positionals: "<folder>",
  summary:
    'Build a recipe from a downloaded release folder and the md5 lists pasted from its model card (md5sum output, payload and recovered names in any mix; "-" reads standard input). A payload the card lists is hashed and must match. Writes the recipe to --out (e.g. manifests/<name>.json) or prints it.',
  options: {
    name: { type: "string", value: "<name>", required: true, description: "the recipe name (lowercase letters, digits, . _ -)" },
    format: { type: "string", value: "<pipeline>", default: "xor-enc", description: "the pipeline: xor-enc, xor-codec, xor-codec-gzip or xor-prefix" },
    md5: { type: "string", value: "<list>", multiple: true, description: 'an md5 list from the card, a file or "-" for standard input (repeatable)' },
    out: { type: "string", value: "<file>", description: "where the recipe goes (default: printed)" },
    title: { type: "string", value: "<text>", description: "the release's title" },
    card: { type: "string", value: "<url>", description: "the model card the hashes come from" },
    hub: { type: "string", value: "<owner/name>[@<sha>]", description: "the Hugging Face repo the release lives in, and the commit checked (for recover --from-hub and download)" },
    prompt: { type: "string", value: "<text>", description: "the prompt format the model was trained with" },
    "base-id": { type: "string", value: "<id>", description: "a base in manifests/bases/ (e.g. llama-7b); or describe it with the four --base-* flags" },
    "base-title": { type: "string", value: "<text>", description: "the base's title" },
    "base-file": { type: "string", value: "<name>", description: "the base's file name" },
    "base-md5": { type: "string", value: "<hex>", description: "the base's md5" },
    "base-sha256": { type: "string", value: "<hex>", description: "the base's sha256" },
    help: { type: "boolean", short: "h", description: "show this help" },
  },
};

export async function recipeCommand(argv: string[], context: CommandContext): Promise<number> {
  const { values: parsed, positionals } = parseCommand(recipeSpec, argv);
  if (parsed.help) {
    context.stdout.write(`${helpText(recipeSpec)}\n`);
    return ExitCode.ok;
  }
  const values = parsed as { name: string; format: string; md5?: string[]; out?: string; title?: string; card?: string; hub?: string; prompt?: string; "base-id"?: string; "base-title"?: string; "base-file"?: string; "base-md5"?: string; "base-sha256"?: string };
  const [action, folder, ...extra] = positionals;
  if (action !== "from-folder" || !folder || extra.length > 0) throw new UsageError("expected: model-recover recipe from-folder <folder> --name <name> (try --help)");
  // Refused before the release is hashed, which can take minutes.
  const outFile: OutputFileName | undefined = values.out ? { path: resolve(context.cwd, values.out), what: "recipe", flag: "--out" } : undefined;
  if (outFile) {
    // The recipe replaces whatever is at its name: never a payload of the release or the md5 list it is made from.
    const lists = (values.md5 ?? []).filter((source) => source !== "-").map((source) => ({ path: resolve(context.cwd, source), what: "md5 list (--md5)" }));
    await refuseOverlaps(outFile.path, [{ path: resolve(context.cwd, folder), what: "release folder" }, ...lists], "recipe file (--out)");
    await checkOutputFile(outFile);
  }
  const lists: ChecksumEntry[] = [];
  for (const source of values.md5 ?? []) lists.push(...parseChecksumList(await readList(source, context), source));
  const { recipe, notes } = await recipeFromFolder({
    folder: resolve(context.cwd, folder),
    name: values.name,
    format: values.format,
    md5Lists: lists,
    ...(values.title ? { title: values.title } : {}),
    ...(values.card ? { card: values.card } : {}),
    ...(values.hub ? { hub: parseHubRef(values.hub) } : {}),
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
  if (outFile) {
    await writeOutputFile(outFile, text);
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
