import { resolve } from "node:path";
import { InputError, type InputErrorCode, isDeltaPipeline, isTensorRecipe, type LoadedRecipe, type LoadedTensorRecipe, loadRecipe, printable, recover, type RecoverSummary, UsageError, VerificationError, type VerifyMode } from "@model-recover/pipeline";
import type { CommandContext, RecoverHooks } from "./context.js";
import { chainedBase } from "./chain-base.js";
import { recoverDeltaRecipe } from "./apply-delta-command.js";
import { runConversion } from "./convert-llama-command.js";
import { ExitCode, exitCodesHelp } from "./exit-codes.js";
import { type CommandSpec, helpText, parseCommand } from "./options.js";
import { createProgress } from "./progress.js";
import { resolvePaths } from "./settings.js";
import { formatSummary } from "./summary.js";
import { checkHubFlags, type HubFlags, hubOptions, hubSource } from "./hub-source.js";

export const recoverSpec: CommandSpec = {
  name: "recover",
  positionals: "<recipe>",
  summary: "Recover a published XOR release into a verified Hugging Face model folder, or run a conversion recipe (llama-30b-hf: Meta's originals to the Hugging Face folder). <recipe> is a recipe name (model-recover list) or a path to a recipe file.",
  options: {
    base: { type: "string", value: "<file|folder>", env: "MODEL_RECOVER_BASE", description: "the base checkpoint the release is keyed with (LLaMA-13B consolidated.00.pth), or the folder the LLaMA download went to (a conversion recipe's input)" },
    enc: { type: "string", value: "<folder>", env: "MODEL_RECOVER_ENC", description: "the downloaded release folder (*-enc) holding the encrypted files" },
    out: { type: "string", value: "<folder>", env: "MODEL_RECOVER_OUT", description: "where the recovered model goes (default: out/<recipe>); it must not overlap --enc or --base" },
    verify: { type: "string", value: "<mode>", default: "full", description: "full: each file's header sha256 and the card's md5; sha256: the header's sha256 alone, skipping the md5 pass (faster; a conversion then checks its originals' shapes, not their md5s)" },
    to: { type: "string", value: "<format>", default: "bin", description: "bin: the files as published; safetensors: each pytorch_model*.bin converted in the same pass to model-*.safetensors, with model.safetensors.index.json (the .bin bytes are still verified first)" },
    "keep-bin": { type: "boolean", description: "with --to safetensors, also keep the .bin files and their index" },
    store: { type: "string", value: "<dir>", env: "MODEL_RECOVER_STORE", description: "also keep verified outputs in this content store (read-only hard links), from which pnpm recover puts a cached recovery back; a chained recipe's base (llama-30b-hf for oasst-sft-6-llama-30b) is made and kept there (default for that: $XDG_CACHE_HOME/model-recover/store)" },
    ...hubOptions,
    config: { type: "string", value: "<file>", env: "MODEL_RECOVER_CONFIG", description: 'local settings, {"base", "enc", "out", "recipes": {"<name>": {...}}} (default: model-recover.config.json here or at the repository root)' },
    help: { type: "boolean", short: "h", description: "show this help" },
  },
  notes:
    "Flags win over environment variables, which win over the config file. Before any long work the release folder, the base (by decrypting the smallest file) and the free space are checked. Each file is written under a temporary name in <out>/.model-recover, verified (sha256 from its header, md5 from the card) and only then renamed. Files already verified in --out are not redone; an interrupted run continues where it stopped. A recipe built on another recipe's output (oasst-sft-6-llama-30b on llama-30b-hf) takes the original download as --base: the base recipe runs first, into the content store, or its verified output there is reused; a folder it made before may be given instead.",
};

export async function recoverCommand(argv: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommand(recoverSpec, argv);
  if (values.help) {
    context.stdout.write(`${helpText(recoverSpec, exitCodesHelp)}\n`);
    return ExitCode.ok;
  }
  const verify = values.verify as string;
  if (verify !== "full" && verify !== "sha256") throw new UsageError(`--verify ${printable(verify)}: expected full or sha256`);
  const to = values.to as string;
  if (to !== "bin" && to !== "safetensors") throw new UsageError(`--to ${printable(to)}: expected bin or safetensors`);
  if (values["keep-bin"] && to !== "safetensors") throw new UsageError("--keep-bin goes with --to safetensors");
  if (positionals.length !== 1) throw new UsageError(`expected one recipe, found ${positionals.length}: model-recover recover <recipe> (try --help)`);
  const flags: RecoverFlags = { ...(values as unknown as RecoverFlags), verify, to, keepBin: values["keep-bin"] === true };
  const loaded = await loadRecipe(positionals[0]!, { cwd: context.cwd });
  // Every flag is checked before a chained recipe's base is converted, not half an hour after.
  const fromHub = isTensorRecipe(loaded) ? refuseTensorFlags(loaded, flags) : checkHubFlags(loaded, flags);
  // A chained recipe reads its base recipe's output: made (or found) in the store first, then read as --base.
  if (loaded.baseRecipe) flags.base = await chainedBase(loaded, { ...flags, fromHub }, context);
  // The engine is the pipeline's: a conversion recipe runs the tensor engine, any other the XOR engine.
  if (isTensorRecipe(loaded)) {
    if (isDeltaPipeline(loaded.pipeline)) await recoverDeltaRecipe({ ...loaded, pipeline: loaded.pipeline }, flags, context);
    else await convertRecipe(loaded, flags, context);
    return ExitCode.ok;
  }
  const summary = await recoverRecipe(loaded, flags, context);
  context.hooks?.onSummary?.(summary);
  return ExitCode.ok;
}

/** A tensor recipe (a conversion or an additive delta) reads a folder: no Hub flag, no --keep-bin. */
function refuseTensorFlags(loaded: LoadedTensorRecipe, flags: RecoverFlags): false {
  const what = isDeltaPipeline(loaded.pipeline) ? "an additive delta" : "a conversion";
  const hubFlag = (["from-hub", "revision", "token-file", "keep-enc"] as const).find((name) => flags[name] !== undefined);
  if (hubFlag) throw new UsageError(`--${hubFlag}: ${printable(loaded.recipe.name)} is ${what}, and the Hub flags stream XOR releases; download the folder it reads and pass it with ${isDeltaPipeline(loaded.pipeline) ? "--enc" : "--base"}`);
  if (flags.keepBin) throw new UsageError(`--keep-bin: ${printable(loaded.recipe.name)} is ${what}; it writes either .bin (--to bin) or safetensors (--to safetensors)`);
  return false;
}

interface RecoverFlags extends HubFlags {
  base?: string;
  enc?: string;
  out?: string;
  config?: string;
  store?: string;
  verify: VerifyMode;
  to: "bin" | "safetensors";
  keepBin: boolean;
}

async function recoverRecipe(loaded: LoadedRecipe, flags: RecoverFlags, context: CommandContext): Promise<RecoverSummary> {
  const hooks: RecoverHooks = context.hooks ?? {};
  const fromHub = checkHubFlags(loaded, flags);
  const paths = await resolvePaths(loaded, flags, { cwd: context.cwd, env: context.env, fromHub, ...(flags.config ? { configFile: flags.config } : {}), ...(context.projectDir ? { projectDir: context.projectDir } : {}) });
  context.stderr.write(`${printable(loaded.recipe.title)} (${printable(loaded.file)})\n  enc:  ${fromHub ? `the Hub${flags["keep-enc"] ? `, kept in ${printable(flags["keep-enc"])}` : ", streamed"}` : printable(paths.enc)}\n  base: ${printable(paths.base)}\n  out:  ${printable(paths.out)}\n`);
  const progress = createProgress(context.stderr);
  const hub = fromHub ? await hubSource(loaded, flags, context, progress, paths) : undefined;
  const storeDir = hooks.store?.dir ?? flags.store ?? context.env.MODEL_RECOVER_STORE;
  const store = storeDir ? { dir: resolve(context.cwd, storeDir), ...(hooks.store?.known ? { known: hooks.store.known } : {}) } : undefined;
  const summary = await recover({
    loaded,
    encDir: hub?.kind === "kept" ? hub.encDir : hub ? hub.remote.where : paths.enc,
    ...(hub?.kind === "stream" ? { remote: hub.remote } : {}),
    basePath: paths.base,
    outDir: paths.out,
    onEvent: progress,
    verify: flags.verify,
    to: flags.to,
    keepBin: flags.keepBin,
    ...(context.signal ? { signal: context.signal } : {}),
    ...(store ? { store } : {}),
    ...(hooks.beforeWork ? { beforeWork: hooks.beforeWork } : {}),
  });
  context.stdout.write(formatSummary(summary, loaded.recipe, paths.out));
  if (!summary.ok) {
    hooks.onSummary?.(summary);
    throwFailure(summary);
  }
  return summary;
}

/**
 * A conversion recipe (llama-30b-hf): --base is the original download, the published hashes are the
 * recipe's; `--verify sha256` (skip the md5 pass) skips hashing the originals.
 */
async function convertRecipe(loaded: LoadedTensorRecipe, flags: RecoverFlags, context: CommandContext): Promise<void> {
  const hooks: RecoverHooks = context.hooks ?? {};
  const paths = await resolvePaths(loaded, flags, { cwd: context.cwd, env: context.env, ...(flags.config ? { configFile: flags.config } : {}), ...(context.projectDir ? { projectDir: context.projectDir } : {}) });
  context.stderr.write(`${printable(loaded.recipe.title)} (${printable(loaded.file)})\n  originals: ${printable(paths.base)}\n  out:       ${printable(paths.out)}\n`);
  const storeDir = hooks.store?.dir ?? flags.store ?? context.env.MODEL_RECOVER_STORE;
  await runConversion(
    {
      originals: paths.base,
      outDir: paths.out,
      recipe: loaded,
      verify: flags.verify === "sha256" ? "shapes" : "full",
      format: flags.to,
      ...(storeDir ? { store: { dir: resolve(context.cwd, storeDir) } } : {}),
      ...(hooks.beforeWork ? { beforeWork: hooks.beforeWork } : {}),
    },
    context,
    loaded.recipe,
  );
}

/** A file lost to the disk or to an input that changed under us is bad input, not a bad file. */
export function throwFailure(summary: RecoverSummary): never {
  const inputProblem = summary.files.find((f) => f.status === "failed" && f.code !== "VERIFY_FAILED");
  if (inputProblem?.status === "failed") throw new InputError(inputProblem.code as InputErrorCode, inputProblem.message);
  const failed = summary.files.flatMap((f) => (f.status === "failed" ? [f.name] : []));
  throw new VerificationError(failed[0]!, `${failed.length} of ${summary.files.length} files did not verify: ${failed.join(", ")}; see the lines above for why and what to do`);
}
