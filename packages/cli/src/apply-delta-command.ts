import { resolve } from "node:path";
import { VerificationError, type ApplyDeltaEvent, type ApplyDeltaOptions, type ApplyDeltaSummary, applyDelta, type DeltaMath, type LoadedTensorRecipe, printable, type RecoverEvent, UsageError } from "@model-recover/pipeline";
import type { CommandContext } from "./context.js";
import { formatDeltaSummary } from "./delta-summary.js";
import { ExitCode, exitCodesHelp } from "./exit-codes.js";
import { type CommandSpec, helpText, parseCommand } from "./options.js";
import { createProgress } from "./progress.js";
import { throwFailure } from "./recover-command.js";
import { resolvePaths } from "./settings.js";

export const applyDeltaSpec: CommandSpec = {
  name: "apply-delta",
  positionals: "<base> <delta>",
  summary:
    "Add a published additive delta (Vicuna, StableVicuna: tuned − base) back to LLaMA in Hugging Face format, tensor-exact with FastChat's apply_delta under torch 1.13.1, streaming with flat memory whatever the shards. <base> is LLaMA converted to Hugging Face format (convert-llama's output), <delta> the downloaded delta folder.",
  options: {
    out: { type: "string", value: "<folder>", required: true, description: "where the tuned model goes; it must not overlap the base or the delta" },
    vocab: { type: "string", value: "<mode>", default: "same", description: "same: the delta has the base's 32000 tokens (Vicuna v1.1, FastChat >= 0.2); pad-token: the delta has 32001, a [PAD] token whose rows the base gains as zeros first (Vicuna v0, StableVicuna, fschat <= 0.1.10); pad-mean: a float32 weight diff of 32001 tokens whose [PAD] rows the base gains as the mean of its rows, added in float32 (Alpaca, WizardLM: weight_diff.py)" },
    to: { type: "string", value: "<format>", default: "bin", description: "bin: pytorch_model-*.bin as torch.save writes them (save_pretrained's 10 GB shards); safetensors: model-*.safetensors with model.safetensors.index.json" },
    help: { type: "boolean", short: "h", description: "show this help" },
  },
  notes:
    "Before any weight is read, both folders' pickles and headers are read and every tensor checked: the base's shapes against its config.json, float16, the delta holding every base tensor with the same shape; a 32001-token delta without --vocab pad-token (or the other way round) is named as such. Each output is written under a temporary name in <out>/.model-recover, hashed as it is written and only then renamed. config.json and the tokenizer files come from the delta; an old tokenizer_config.json's LLaMATokenizer is written as LlamaTokenizer, and the summary says so.",
};

const VOCAB_MATH: Record<string, DeltaMath> = { same: "add-delta", "pad-token": "add-delta-v0", "pad-mean": "weight-diff" };

export async function applyDeltaCommand(argv: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommand(applyDeltaSpec, argv);
  if (values.help) {
    context.stdout.write(`${helpText(applyDeltaSpec, exitCodesHelp)}\n`);
    return ExitCode.ok;
  }
  if (positionals.length !== 2) throw new UsageError(`expected a base folder and a delta folder, found ${positionals.length} argument(s): model-recover apply-delta <base> <delta> --out <folder> (try --help)`);
  const math = VOCAB_MATH[values.vocab as string];
  if (!math) throw new UsageError(`--vocab ${printable(values.vocab as string)}: expected same (32000 tokens, Vicuna v1.1), pad-token (32001, Vicuna v0, StableVicuna) or pad-mean (32001, float32 weight_diff.py: Alpaca, WizardLM)`);
  const format = values.to as string;
  if (format !== "bin" && format !== "safetensors") throw new UsageError(`--to ${printable(format)}: expected bin or safetensors`);
  const [base, delta] = positionals.map((p) => resolve(context.cwd, p)) as [string, string];
  const outDir = resolve(context.cwd, values.out as string);
  context.stderr.write(`apply-delta (${math})\n  base:  ${printable(base)}\n  delta: ${printable(delta)}\n  out:   ${printable(outDir)}\n`);
  await runDelta({ base, delta, outDir, math, format }, context);
  return ExitCode.ok;
}

/** `recover <delta recipe>`: --base is LLaMA in Hugging Face format, --enc the downloaded delta folder. */
export async function recoverDeltaRecipe(loaded: LoadedTensorRecipe & { pipeline: { transform: DeltaMath } }, flags: { base?: string; enc?: string; out?: string; config?: string; store?: string; to: "bin" | "safetensors" }, context: CommandContext): Promise<void> {
  const hooks = context.hooks ?? {};
  const paths = await resolvePaths(loaded, flags, { cwd: context.cwd, env: context.env, ...(flags.config ? { configFile: flags.config } : {}), ...(context.projectDir ? { projectDir: context.projectDir } : {}) });
  context.stderr.write(`${printable(loaded.recipe.title)} (${printable(loaded.file)})\n  base:  ${printable(paths.base)}\n  delta: ${printable(paths.enc)}\n  out:   ${printable(paths.out)}\n`);
  const storeDir = hooks.store?.dir ?? flags.store ?? context.env.MODEL_RECOVER_STORE;
  await runDelta(
    {
      base: paths.base,
      delta: paths.enc,
      outDir: paths.out,
      math: loaded.pipeline.transform,
      recipe: loaded,
      format: flags.to,
      ...(storeDir ? { store: { dir: resolve(context.cwd, storeDir) } } : {}),
      ...(hooks.beforeWork ? { beforeWork: hooks.beforeWork } : {}),
    },
    context,
  );
}

/** A delta applied as the CLI runs it: its checks said, progress drawn, the summary printed, a failure's exit code. */
async function runDelta(options: ApplyDeltaOptions, context: CommandContext): Promise<ApplyDeltaSummary> {
  const progress = createProgress(context.stderr, { work: "write" });
  const onEvent = (event: ApplyDeltaEvent) => {
    if (event.type === "delta-checked") {
      context.stderr.write(`shapes: ${event.tensors} tensors of ${printable(event.model)} in the base and the delta agree (${event.baseVocab} → ${event.vocab} tokens; read from the pickles, no weight read yet)\n`);
    } else if (event.type === "delta-fixed") {
      context.stderr.write(`fixing ${printable(event.fix.file)}: ${printable(event.fix.what)}\n`);
    } else {
      progress(event as RecoverEvent);
    }
  };
  const summary = await applyDelta({ ...options, onEvent, ...(context.signal ? { signal: context.signal } : {}) });
  context.stdout.write(formatDeltaSummary(summary, options.recipe?.recipe));
  context.hooks?.onSummary?.(summary);
  if (summary.paramSum?.ok === false) {
    const { got, expected, tolerance } = summary.paramSum;
    throw new VerificationError(summary.outDir, `${summary.outDir}: the recovered parameters sum to ${got}, not ${expected} (within ${tolerance}) as ${options.recipe?.recipe.card ?? "the card"} says: weight_diff.py's integrity check failed; check the base (LLaMA-7B converted to Hugging Face format) and the diff download, then run again`);
  }
  if (!summary.ok) throwFailure(summary);
  return summary;
}
