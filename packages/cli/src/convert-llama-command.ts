import { resolve } from "node:path";
import { type ConvertLlamaOptions, type ConvertLlamaSummary, convertLlama, printable, type Recipe, UsageError } from "@model-recover/pipeline";
import type { CommandContext } from "./context.js";
import { formatConvertSummary } from "./convert-summary.js";
import { ExitCode, exitCodesHelp } from "./exit-codes.js";
import { type CommandSpec, helpText, parseCommand } from "./options.js";
import { createProgress } from "./progress.js";
import { throwFailure } from "./recover-command.js";

export const convertLlamaSpec: CommandSpec = {
  name: "convert-llama",
  positionals: "<originals>",
  summary:
    "Convert Meta's original LLaMA (consolidated.NN.pth, params.json, tokenizer.model) into the Hugging Face folder that transformers d04ec99 (4.29.0.dev0) made with torch 1.13.1, byte for byte, streaming with flat memory. Any size params.json describes; the published md5s of LLaMA-7B, 13B and 30B are checked.",
  options: {
    out: { type: "string", value: "<folder>", required: true, description: "where the converted folder goes; it must not overlap the originals" },
    to: { type: "string", value: "<format>", default: "bin", description: "bin: pytorch_model-*.bin as torch.save wrote them (the published md5s are of these); safetensors: model-*.safetensors as HF's convert.py writes them" },
    "dry-run": { type: "boolean", description: "read params.json alone and write the small files and the index exactly as the conversion would, listing the weight files it would write" },
    verify: { type: "string", value: "<mode>", default: "full", description: "full: the originals are hashed against their published md5s before any output is written; shapes: only the check of every tensor's shape against params.json" },
    help: { type: "boolean", short: "h", description: "show this help" },
  },
  notes:
    "<originals> is the model's folder of the download (llama/30B; tokenizer.model may be next to it, in llama/), or a download root that holds one model. Before any weight is read, the shape and dtype of every tensor the conversion reads are checked against params.json, from the files' pickles, in milliseconds. Each output is written under a temporary name in <out>/.model-recover, hashed as it is written, checked against the md5 the card publishes (LLaMA-30B: OpenAssistant's) and only then renamed. tokenizer.json is not made: it needs the Rust tokenizers converter. After an interruption, run the same command again: files already verified from the same originals are kept.",
};

export async function convertLlamaCommand(argv: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommand(convertLlamaSpec, argv);
  if (values.help) {
    context.stdout.write(`${helpText(convertLlamaSpec, exitCodesHelp)}\n`);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one originals folder, found ${positionals.length}: model-recover convert-llama <originals> --out <folder> (try --help)`);
  const format = values.to as string;
  if (format !== "bin" && format !== "safetensors") throw new UsageError(`--to ${printable(format)}: expected bin or safetensors`);
  const verify = values.verify as string;
  if (verify !== "full" && verify !== "shapes") throw new UsageError(`--verify ${printable(verify)}: expected full or shapes`);
  const originals = resolve(context.cwd, positionals[0]!);
  const outDir = resolve(context.cwd, values.out as string);
  context.stderr.write(`convert-llama${values["dry-run"] ? " (dry run)" : ""}\n  originals: ${printable(originals)}\n  out:       ${printable(outDir)}\n`);
  await runConversion({ originals, outDir, format, verify, dryRun: values["dry-run"] === true }, context);
  return ExitCode.ok;
}

/**
 * A conversion as the CLI runs it, from convert-llama or from `recover <conversion recipe>`:
 * progress drawn, the summary printed, and a failed file turned into the exit code a recovery gives.
 */
export async function runConversion(options: ConvertLlamaOptions, context: CommandContext, recipe?: Recipe): Promise<ConvertLlamaSummary> {
  const summary = await convertLlama({ ...options, onEvent: createProgress(context.stderr, { work: "write" }), ...(context.signal ? { signal: context.signal } : {}) });
  context.stdout.write(formatConvertSummary(summary, options.outDir, recipe));
  context.hooks?.onSummary?.(summary);
  if (!summary.ok) throwFailure(summary);
  return summary;
}
