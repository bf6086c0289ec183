import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { OutputStore } from "../cache/output-store.js";
import { receiptOf, writeReceipt } from "../cache/run-receipt.js";
import { InputError, VerificationError, type InputErrorCode } from "../errors.js";
import type { RecoverSummary } from "../recover/events.js";
import type { VerifyMode } from "../recover/verify.js";
import { loadRecipe } from "../recipe/load-recipe.js";
import { recover } from "../recover/recover.js";
import { ExitCode, UsageError, exitCodeFor, exitCodesHelp } from "./exit-codes.js";
import { createProgress } from "./progress.js";
import { formatSummary } from "./summary.js";
import { resolvePaths } from "./settings.js";
import type { CommandContext } from "./context.js";

export const recoverHelp = `Usage: model-recover recover <recipe> [--base <file>] [--enc <folder>] [--out <folder>]

Recover a published XOR release into a verified Hugging Face model folder.

  <recipe>          a recipe name under manifests/ (e.g. belle-13b-2m, demo) or a path to a recipe file
  --base <file>     the base checkpoint the release is keyed with (e.g. LLaMA-13B consolidated.00.pth)
                    env MODEL_RECOVER_BASE
  --enc <folder>    the downloaded *-enc folder holding the .enc files      env MODEL_RECOVER_ENC
  --out <folder>    where the recovered model goes (default: out/<recipe>)   env MODEL_RECOVER_OUT
  --verify <mode>   full (default): each file's header sha256 and the card's md5;
                    sha256: the header's sha256 alone, skipping the md5 pass (faster; the summary says so)
  --store <dir>     also keep verified outputs in a content-addressed store (hard links; env
                    MODEL_RECOVER_STORE), from which a cached recovery is put back without XOR work
  --receipt <file>  write what was recovered (names, sizes, hashes; no weights) as JSON, or the exit
                    code of a failed run: the file turbo caches for pnpm recover
  --config <file>   local config (default: model-recover.config.json here or at the repo root)
                    env MODEL_RECOVER_CONFIG; it holds {"base", "enc", "out", "recipes": {"<name>": {...}}}
  -h, --help        show this help

Flags win over environment variables, which win over the config file. Before any long work the
release folder, the base (by decrypting the smallest file) and the free space are checked. Each file
is written under a temporary name, verified (sha256 from its header, md5 from the card) and only then
renamed. Files already verified in --out are not redone.

${exitCodesHelp}`;

export async function recoverCommand(argv: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      base: { type: "string" },
      enc: { type: "string" },
      out: { type: "string" },
      config: { type: "string" },
      verify: { type: "string", default: "full" },
      receipt: { type: "string" },
      store: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    context.stdout.write(`${recoverHelp}\n`);
    return ExitCode.ok;
  }
  if (values.verify !== "full" && values.verify !== "sha256") throw new UsageError(`--verify ${values.verify}: expected full or sha256`);
  if (positionals.length !== 1) throw new UsageError(`expected one recipe, found ${positionals.length}: model-recover recover <recipe> (try --help)`);
  const recipe = positionals[0]!;
  const receiptFile = values.receipt ? resolve(context.cwd, values.receipt) : undefined;
  try {
    const summary = await recoverRecipe(recipe, { ...values, verify: values.verify }, context);
    if (receiptFile) await writeReceipt(receiptFile, receiptOf(summary));
    return ExitCode.ok;
  } catch (error) {
    if (receiptFile) await writeReceipt(receiptFile, { ok: false, recipe, exitCode: exitCodeFor(error), message: (error as Error).message });
    throw error;
  }
}

interface RecoverFlags {
  base?: string | undefined;
  enc?: string | undefined;
  out?: string | undefined;
  config?: string | undefined;
  store?: string | undefined;
  verify: VerifyMode;
}

async function recoverRecipe(recipeName: string, flags: RecoverFlags, context: CommandContext): Promise<RecoverSummary> {
  const loaded = await loadRecipe(recipeName, { cwd: context.cwd });
  const paths = await resolvePaths(loaded, { base: flags.base, enc: flags.enc, out: flags.out }, { cwd: context.cwd, env: context.env, ...(flags.config ? { configFile: flags.config } : {}) });
  context.stderr.write(`${loaded.recipe.title} (${loaded.file})\n  enc:  ${paths.enc}\n  base: ${paths.base}\n  out:  ${paths.out}\n`);
  const summary = await recover({ loaded, encDir: paths.enc, basePath: paths.base, outDir: paths.out, onEvent: createProgress(context.stderr), verify: flags.verify, ...(context.signal ? { signal: context.signal } : {}) });
  context.stdout.write(formatSummary(summary, loaded.recipe, paths.out));
  if (!summary.ok) {
    // A file lost to the disk or to a download that changed under us is bad input, not a bad file.
    const inputProblem = summary.files.find((f) => f.status === "failed" && f.code !== "VERIFY_FAILED");
    if (inputProblem?.status === "failed") throw new InputError(inputProblem.code as InputErrorCode, inputProblem.message);
    const failed = summary.files.flatMap((f) => (f.status === "failed" ? [f.name] : []));
    const what = failed.length > 0 ? `${failed.length} of ${summary.files.length} files did not verify: ${failed.join(", ")}` : `the folder check failed: ${summary.folderProblems.join("; ")}`;
    throw new VerificationError(failed[0] ?? paths.out, `${what}; see the lines above for why and what to do`);
  }
  const storeDir = flags.store ?? context.env.MODEL_RECOVER_STORE;
  if (storeDir) {
    const store = new OutputStore(resolve(context.cwd, storeDir));
    for (const file of receiptOf(summary).files) await store.add(join(paths.out, file.name), file.sha256, file.size);
  }
  return summary;
}
