import { homedir } from "node:os";
import { basename, join, resolve } from "node:path";
import { type AnyLoadedRecipe, baseFromRecipe, baseRecipeInputs, type ChainEvent, type ConvertLlamaEvent, linkedFolders, printable, refuseOverlaps } from "@model-recover/pipeline";
import type { CommandContext } from "./context.js";
import { formatConvertSummary } from "./convert-summary.js";
import { createProgress } from "./progress.js";
import { throwFailure } from "./recover-command.js";
import { resolvePaths } from "./settings.js";

export interface ChainFlags {
  base?: string;
  enc?: string;
  out?: string;
  config?: string;
  store?: string;
  verify: "full" | "sha256";
  "keep-enc"?: string;
  /** --from-hub: the release is not a folder, so no --enc is asked for. */
  fromHub: boolean;
}

/**
 * The base folder a chained recipe (`"base": {"recipe": "llama-30b-hf"}`) reads, whatever its engine:
 * the base recipe's verified output, made into the content store from the original download given
 * as --base, or reused from there with no conversion; or --base itself when it is not the download
 * (a folder converted before). Every setting is resolved first, so that a missing --enc is said
 * before a conversion, not after it.
 */
export async function chainedBase(loaded: AnyLoadedRecipe, flags: ChainFlags, context: CommandContext): Promise<string> {
  const paths = await resolvePaths(loaded, flags, { cwd: context.cwd, env: context.env, fromHub: flags.fromHub, ...(flags.config ? { configFile: flags.config } : {}), ...(context.projectDir ? { projectDir: context.projectDir } : {}) });
  // --base is replaced by the store's folder below, so the download it names is checked against every output here.
  // An original kept in the output folder and linked into the download would be replaced by an output too.
  const originals = ((await baseRecipeInputs(loaded, paths.base)) ?? []).map((path) => ({ path, what: `folder that ${basename(path)} of the original download (--base) links into` }));
  const download = [{ path: paths.base, what: "original download (--base)" }, ...(await linkedFolders(originals))];
  await refuseOverlaps(paths.out, download);
  if (flags["keep-enc"] !== undefined) await refuseOverlaps(resolve(context.cwd, flags["keep-enc"]), download, "release folder (--keep-enc)");
  const storeDir = resolve(context.cwd, context.hooks?.store?.dir ?? flags.store ?? context.env.MODEL_RECOVER_STORE ?? defaultStoreDir(context.env));
  const progress = createProgress(context.stderr, { work: "write" });
  const say = (line: string) => context.stderr.write(`${printable(line)}\n`);
  const onEvent = (event: ConvertLlamaEvent | ChainEvent) => {
    if (event.type === "base-recipe-reused") say(`${event.recipe}: reusing ${event.dir} (verified ${event.made}); no conversion`);
    else if (event.type === "base-recipe-damaged") say(`${event.recipe}: the store's entry is not what was verified (${event.reason}); converting again`);
    else if (event.type === "base-recipe-making") say(`${event.recipe}: converting ${paths.base} into the store (${event.dir})`);
    else if (event.type === "base-recipe-stored") say(`${event.recipe}: verified and kept in the store: ${event.dir}`);
    else progress(event);
  };
  const result = await baseFromRecipe({
    loaded,
    basePath: paths.base,
    storeDir,
    verify: flags.verify === "sha256" ? "shapes" : "full",
    onEvent,
    ...(context.signal ? { signal: context.signal } : {}),
    ...(context.hooks?.beforeBaseWork ? { beforeWork: context.hooks.beforeBaseWork } : {}),
  });
  if (result.kind === "failed") {
    context.stdout.write(formatConvertSummary(result.summary, result.summary.outDir));
    throwFailure(result.summary);
  }
  if (result.kind === "made") context.stdout.write(`${formatConvertSummary(result.summary, result.dir)}\n`);
  await context.hooks?.afterBaseWork?.({ recipe: loaded.baseRecipe!.recipe.name, made: result.kind === "made" });
  return result.dir;
}

/** $XDG_CACHE_HOME/model-recover/store, else ~/.cache/model-recover/store. */
export function defaultStoreDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache"), "model-recover", "store");
}
