import { resolve } from "node:path";
import { downloadRelease, formatBytes, isDeltaPipeline, isTensorRecipe, type LoadedTensorRecipe, loadRecipe, openHubRelease, printable, UsageError } from "@model-recover/pipeline";
import type { CommandContext } from "./context.js";
import { createDownloadProgress } from "./download-progress.js";
import { ExitCode, exitCodesHelp } from "./exit-codes.js";
import { hubClient, hubLocation, hubOptions } from "./hub-source.js";
import { type CommandSpec, helpText, parseCommand } from "./options.js";

export const downloadSpec: CommandSpec = {
  name: "download",
  positionals: "<recipe>",
  summary: "Download a release from the Hugging Face Hub (the recipe's hub repo) into a folder, each file verified against the Hub's size and LFS sha256 (and its .enc header) before it gets its name; recover --enc <folder> then reads it.",
  options: {
    to: { type: "string", value: "<folder>", required: true, description: "where the release's files go (created if needed); a killed download continues there" },
    revision: { ...hubOptions.revision!, description: "the commit to read (default: the recipe's revision, else main)" },
    "token-file": { ...hubOptions["token-file"]!, description: "a file holding the Hugging Face token for a gated repo (default: HF_TOKEN); sent to the Hub's host only" },
    help: { type: "boolean", short: "h", description: "show this help" },
  },
  notes: "Only the files the recipe needs are downloaded. Unlike git clone, no second copy is kept (no .git/lfs), and an interrupted download never leaves a pointer file or a short file under a release name: partial files live in <folder>/.model-recover-download until they verified. HF_ENDPOINT picks a mirror; HF_TOKEN (or --token-file) is sent to the Hub's host only.",
};

export async function downloadCommand(argv: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommand(downloadSpec, argv);
  if (values.help) {
    context.stdout.write(`${helpText(downloadSpec, exitCodesHelp)}\n`);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one recipe, found ${positionals.length}: model-recover download <recipe> --to <folder> (try --help)`);
  const loaded = await loadRecipe(positionals[0]!, { cwd: context.cwd });
  if (isTensorRecipe(loaded)) throw new UsageError(notAReleaseMessage(loaded));
  const flags = values as { to: string; revision?: string; "token-file"?: string };
  const location = hubLocation(loaded, flags.revision);
  const hub = await hubClient(flags, context);
  const toDir = resolve(context.cwd, flags.to);
  const draw = createDownloadProgress(context.stderr);
  context.stderr.write(`${printable(loaded.recipe.title)} (${printable(loaded.file)})\n  from: ${printable(`${hub.endpoint.origin}/${location.repo}`)}${hub.hasToken ? " (with a token)" : ""}\n  to:   ${printable(toDir)}\n`);
  const release = await openHubRelease(hub, location, {
    ...(context.signal ? { signal: context.signal } : {}),
    onRetry: (name, e) => draw({ type: "download-retry", name, attempt: e.attempt, retries: e.retries, position: e.position, reason: e.reason, delayMs: e.delayMs }),
  });
  const summary = await downloadRelease({ loaded, release, toDir, onEvent: draw, ...(context.signal ? { signal: context.signal } : {}) });
  for (const file of summary.files) context.stdout.write(`${printable(file.name)}  ${formatBytes(file.bytes)}  ${file.status === "present" ? "already here, verified" : "downloaded, verified"}\n`);
  context.stdout.write(`\nAll ${summary.files.length} files of ${printable(loaded.recipe.title)} in ${printable(toDir)} (${summary.seconds.toFixed(1)} s). Recover with:\n  model-recover recover ${printable(loaded.recipe.name)} --enc ${printable(toDir)} --base <base>\n`);
  return ExitCode.ok;
}

/** download fetches XOR releases only; a tensor recipe is told apart, since a delta does have a folder to fetch. */
function notAReleaseMessage(loaded: LoadedTensorRecipe): string {
  const name = printable(loaded.recipe.name);
  if (!isDeltaPipeline(loaded.pipeline)) return `${name} is a conversion of Meta's originals; there is no release to download: pass the original download to recover with --base`;
  const where = loaded.recipe.card ? ` (${printable(loaded.recipe.card)})` : "";
  return `${name} is an additive delta (${printable(loaded.pipeline.name)}), not an XOR release, and download fetches XOR releases only; fetch the delta folder${where} yourself and pass it to recover with --enc`;
}
