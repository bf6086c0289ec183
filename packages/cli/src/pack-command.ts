import { parseArgs } from "node:util";
import { resolve } from "node:path";
import type { CommandContext } from "./context.js";
import { ExitCode, UsageError } from "./exit-codes.js";
import { displayPath, packRelease } from "@model-recover/pipeline";

export const packHelp = `Usage: model-recover pack --model <folder> --base <file> --out <folder> --name <recipe name>
                          [--clear <file>]... [--recipe <path>] [--title <text>] [--card <url>]
                          [--base-title <text>] [--prompt <text>]

Publish a fine-tuned Hugging Face folder as an XOR release keyed with a base checkpoint.

  --model <folder>   the fine-tuned folder (config.json, shards, tokenizer files, ...)
  --base <file>      the base checkpoint to key with (e.g. LLaMA-7B consolidated.00.pth)
  --out <folder>     where the <name>.<sha256>.enc files go
  --name <name>      the recipe name (lowercase letters, digits, . _ -)
  --format <name>    a pipeline in pipelines/: xor-enc (default; BELLE's .enc files), xor-codec or
                     xor-codec-gzip (OpenAssistant; --base is then a converted folder), xor-prefix (OpenBuddy)
  --clear <file>     a file that travels unencrypted, e.g. README.md (repeatable)
  --recipe <path>    where the recipe JSON goes (default: <out>/<name>.recipe.json)

Writes the encrypted files, <name>.enc.md5 and <name>.md5 (md5sum lists for the model card) and
the recipe, then recovers the release into a scratch folder and checks every file before it
reports success. recover leaves the recipe and the lists alone when they sit in the release folder.`;

export async function packCommand(argv: string[], context: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" },
      base: { type: "string" },
      out: { type: "string" },
      name: { type: "string" },
      format: { type: "string", default: "xor-enc" },
      clear: { type: "string", multiple: true },
      recipe: { type: "string" },
      title: { type: "string" },
      card: { type: "string" },
      "base-title": { type: "string" },
      prompt: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    context.stdout.write(`${packHelp}\n`);
    return ExitCode.ok;
  }
  for (const required of ["model", "base", "out", "name"] as const) {
    if (!values[required]) throw new UsageError(`pack needs --${required} (try model-recover pack --help)`);
  }
  const at = (path: string) => resolve(context.cwd, path);
  const result = await packRelease({
    modelDir: at(values.model!),
    basePath: at(values.base!),
    outDir: at(values.out!),
    name: values.name!,
    format: values.format!,
    ...(values.recipe ? { recipePath: at(values.recipe) } : {}),
    ...(values.title ? { title: values.title } : {}),
    ...(values.card ? { card: values.card } : {}),
    ...(values["base-title"] ? { baseTitle: values["base-title"] } : {}),
    ...(values.prompt ? { prompt: values.prompt } : {}),
    clear: values.clear ?? [],
    onFile: (name) => context.stderr.write(`packing ${name}\n`),
  });
  const show = (path: string) => displayPath(path, context.cwd);
  context.stdout.write(
    `packed ${result.recipe.files.length} files of ${result.recipe.name}; round trip verified\n` +
      `recipe:           ${show(result.recipePath)}\n` +
      `md5 of .enc files: ${show(result.encList)}\nmd5 of recovered:  ${show(result.plainList)}\n`,
  );
  return ExitCode.ok;
}
