import { parseArgs } from "node:util";
import { loadRecipe } from "../recipe/load-recipe.js";
import { recover } from "../recover/recover.js";
import { ExitCode, UsageError } from "./exit-codes.js";
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
  --config <file>   local config (default: model-recover.config.json here or at the repo root)
                    env MODEL_RECOVER_CONFIG; it holds {"base", "enc", "out", "recipes": {"<name>": {...}}}
  -h, --help        show this help

Flags win over environment variables, which win over the config file. Before any long work the
release folder, the base (by decrypting the smallest file) and the free space are checked. Each file
is written under a temporary name, verified (sha256 from its header, md5 from the card) and only then
renamed. Files already verified in --out are not redone.

Exit codes: 0 all verified, 2 bad usage, 3 invalid recipe, 4 bad input (missing or wrong files,
wrong base, no room), 5 a file did not verify, 130 interrupted.`;

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
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    context.stdout.write(`${recoverHelp}\n`);
    return ExitCode.ok;
  }
  if (values.verify !== "full" && values.verify !== "sha256") throw new UsageError(`--verify ${values.verify}: expected full or sha256`);
  if (positionals.length !== 1) throw new UsageError(`expected one recipe, found ${positionals.length}: model-recover recover <recipe> (try --help)`);
  const loaded = await loadRecipe(positionals[0]!, { cwd: context.cwd });
  const paths = await resolvePaths(loaded, { base: values.base, enc: values.enc, out: values.out }, { cwd: context.cwd, env: context.env, ...(values.config ? { configFile: values.config } : {}) });
  context.stderr.write(`${loaded.recipe.title} (${loaded.file})\n  enc:  ${paths.enc}\n  base: ${paths.base}\n  out:  ${paths.out}\n`);
  const summary = await recover({ loaded, encDir: paths.enc, basePath: paths.base, outDir: paths.out, onEvent: createProgress(context.stderr), verify: values.verify });
  context.stdout.write(formatSummary(summary, loaded.recipe, paths.out));
  if (summary.ok) return ExitCode.ok;
  const failed = summary.files.flatMap((f) => (f.status === "failed" ? [f.name] : []));
  const what = failed.length > 0 ? `${failed.length} of ${summary.files.length} files did not verify: ${failed.join(", ")}` : `the folder check failed: ${summary.folderProblems.join("; ")}`;
  context.stderr.write(`model-recover: ${what}; see the lines above for why and what to do\n`);
  return ExitCode.verificationFailed;
}
