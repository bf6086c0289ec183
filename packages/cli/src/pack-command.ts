import { resolve } from "node:path";
import { displayPath, packRelease, printable } from "@model-recover/pipeline";
import type { CommandContext } from "./context.js";
import { ExitCode } from "./exit-codes.js";
import { packDeltaCommand } from "./pack-delta-command.js";
import { type CommandSpec, helpText, parseCommand } from "./options.js";

export const packSpec: CommandSpec = {
  name: "pack",
  summary: "Publish a fine-tuned Hugging Face folder as a release keyed with a base checkpoint, in any of the formats in pipelines/.",
  options: {
    model: { type: "string", value: "<folder>", required: true, description: "the fine-tuned folder (config.json, shards, tokenizer files, ...); hidden files are left out" },
    base: { type: "string", value: "<file|folder>", required: true, description: "the base to key with: a checkpoint (LLaMA-7B consolidated.00.pth), or a converted folder for xor-codec" },
    out: { type: "string", value: "<folder>", required: true, description: "where the release goes; it must not overlap --model or --base" },
    name: { type: "string", value: "<name>", required: true, description: "the recipe name (lowercase letters, digits, . _ -, like my-finetune-7b)" },
    format: { type: "string", value: "<pipeline>", default: "xor-enc", description: "xor-enc (BELLE's .enc files), xor-codec or xor-codec-gzip (OpenAssistant; --base is a converted folder), xor-prefix (OpenBuddy), add-delta (FastChat's delta: tuned − base; --base is LLaMA in Hugging Face format)" },
    clear: { type: "string", value: "<file>", multiple: true, description: "a file that travels unencrypted, e.g. README.md (repeatable)" },
    recipe: { type: "string", value: "<path>", description: "where the recipe JSON goes (default: <out>/<name>.recipe.json)" },
    title: { type: "string", value: "<text>", description: "the release's title in the recipe (default: the name)" },
    card: { type: "string", value: "<url>", description: "the model card the recipe cites" },
    "base-title": { type: "string", value: "<text>", description: "how the recipe names the base (default: the base's file name)" },
    prompt: { type: "string", value: "<text>", description: "the prompt format the model was trained with, shown after a recovery" },
    help: { type: "boolean", short: "h", description: "show this help" },
  },
  notes:
    "Writes the encrypted files, <name>.enc.md5 and <name>.md5 (md5sum lists for the model card) and the recipe, each as a new file (never through a link already there), then recovers the release into a scratch folder and checks every file before it reports success. recover leaves the recipe and the lists alone when they sit in the release folder.",
};

export async function packCommand(argv: string[], context: CommandContext): Promise<number> {
  const { values: parsed } = parseCommand(packSpec, argv);
  if (parsed.help) {
    context.stdout.write(`${helpText(packSpec)}\n`);
    return ExitCode.ok;
  }
  const values = parsed as { model: string; base: string; out: string; name: string; format: string; clear?: string[]; recipe?: string; title?: string; card?: string; "base-title"?: string; prompt?: string };
  const at = (path: string) => resolve(context.cwd, path);
  if (values.format === "add-delta") return packDeltaCommand(values, at, context);
  const result = await packRelease({
    modelDir: at(values.model),
    basePath: at(values.base),
    outDir: at(values.out),
    name: values.name,
    format: values.format,
    ...(values.recipe ? { recipePath: at(values.recipe) } : {}),
    ...(values.title ? { title: values.title } : {}),
    ...(values.card ? { card: values.card } : {}),
    ...(values["base-title"] ? { baseTitle: values["base-title"] } : {}),
    ...(values.prompt ? { prompt: values.prompt } : {}),
    clear: values.clear ?? [],
    onFile: (name) => context.stderr.write(`packing ${printable(name)}\n`),
  });
  const show = (path: string) => displayPath(path, context.cwd);
  context.stdout.write(
    `packed ${result.recipe.files.length} files of ${result.recipe.name}; round trip verified\n` +
      `recipe:            ${printable(show(result.recipePath))}\n` +
      `md5 of .enc files: ${printable(show(result.encList))}\nmd5 of recovered:  ${printable(show(result.plainList))}\n`,
  );
  return ExitCode.ok;
}
