import { rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { type AnyLoadedRecipe, isTensorRecipe, loadRecipe, type RecoverSummary } from "@model-recover/pipeline";
import type { CommandContext, RecoverHooks } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { parseCommand } from "../options.js";
import { recoverSpec } from "../recover-command.js";
import { runCli } from "../run-cli.js";
import { resolvePaths } from "../settings.js";
import { baseStepDigest, inputsDigest, tensorInputsDigest } from "./inputs-digest.js";
import { OutputGate } from "./output-gate.js";
import { Relay } from "./relay.js";
import { recordMade } from "./made-record.js";
import { type BaseReceipt, readKnownOutputs, receiptOf, type RunReceipt } from "./run-receipt.js";
import { putBackTensorOutputs } from "./tensor-hit.js";
import { runTurboTask, type TurboRun } from "./turbo-task.js";

const packageDir = dirname(createRequire(import.meta.url).resolve("@model-recover/cli/package.json"));

interface Request {
  loaded: AnyLoadedRecipe;
  digest: string;
  /** The base step's (a chained recipe's conversion): "none" for a recipe without one. */
  baseDigest: string;
  store: string;
  paths: { base: string; enc: string; out: string };
  /** --to: bin or safetensors. */
  to: string;
}

/**
 * `pnpm recover <recipe> [flags]`: a recovery as a turbo task, cached by the identity of its inputs.
 *
 * turbo cannot hash files outside the repository, and multi-GB weights must not go into its cache,
 * so the task's hashed input is one digest of recipe and inputs (inputs-digest.ts) and turbo caches
 * only a receipt (names, sizes, hashes). The recovery runs here, in this process, started at once:
 * it does every check, then waits before the XOR for turbo's answer. Not cached: the run goes on
 * (its first run costs what a direct one does) and its result is handed to the task (relay.ts), which
 * writes the receipt turbo caches. Cached: the run is dropped unseen and the outputs are checked
 * and put back from the content store of verified outputs, with no XOR work. A tensor recipe (a
 * conversion, an additive delta) is cached the same way, its hit put back by tensor-hit.ts.
 */
export async function pnpmRecover(argv: string[], context: CommandContext & { repoRoot: string }): Promise<number> {
  const verbose = argv.includes("--verbose");
  const args = argv.filter((a) => a !== "--verbose");
  const request = await understand(args, context);
  // Anything this glue cannot make sense of is the CLI's to explain, with its message and exit code.
  if (!request) return runCli(["recover", ...args], context);
  return recoverThroughTurbo(request, args, context, verbose);
}

async function understand(args: string[], context: CommandContext & { repoRoot: string }): Promise<Request | undefined> {
  try {
    const { values, positionals } = parseCommand(recoverSpec, args);
    // --from-hub has no local inputs to digest (the cache key is the identity of local files): the run
    // goes straight to the CLI, neither served from turbo's cache nor recorded in it.
    if (values.help || positionals.length !== 1 || values["from-hub"]) return undefined;
    const loaded = await loadRecipe(positionals[0]!, { cwd: context.cwd });
    const flags = values as { base?: string; enc?: string; out?: string; config?: string; store?: string; verify: string; to: string; "keep-bin"?: boolean };
    const paths = await resolvePaths(loaded, flags, { cwd: context.cwd, env: context.env, projectDir: context.repoRoot, ...(flags.config ? { configFile: flags.config } : {}) });
    const store = resolve(context.cwd, flags.store ?? context.env.MODEL_RECOVER_STORE ?? join(context.repoRoot, ".cache", "model-recover", "store"));
    const settings = { verify: flags.verify, to: flags.to, keepBin: flags["keep-bin"] === true };
    const digest = isTensorRecipe(loaded) ? await tensorInputsDigest(loaded, paths, settings) : await inputsDigest(loaded, paths, settings);
    return { loaded, digest, baseDigest: await baseStepDigest(loaded, paths.base, settings.verify), store, paths, to: flags.to };
  } catch {
    return undefined;
  }
}

async function recoverThroughTurbo({ loaded, digest, baseDigest, store, paths, to }: Request, args: string[], context: CommandContext & { repoRoot: string }, verbose: boolean): Promise<number> {
  const receiptFile = join(packageDir, ".receipts", `${digest}.json`);
  // Only a receipt turbo restores now may say the recovery is cached.
  await rm(receiptFile, { force: true });
  await rm(join(packageDir, ".base-receipts", `${baseDigest}.json`), { force: true });
  const relay = await Relay.open();
  const baseRelay = await Relay.open();
  try {
    const turbo = runTurboTask(context.repoRoot, { base: { digest: baseDigest, relay: baseRelay }, main: { digest, relay } }, verbose ? context.stderr : undefined);
    const base = new BaseStep(turbo, baseRelay, baseDigest);
    const gate = new OutputGate(context.stdout, context.stderr);
    const work = new AbortController();
    const stop = () => work.abort();
    context.signal?.addEventListener("abort", stop);
    let cached = false;
    let summary: RecoverSummary | undefined;
    const hooks: RecoverHooks = {
      store: { dir: store },
      beforeWork: async () => {
        cached = (await turbo.decisions.main) === "hit";
        if (cached) work.abort();
        else gate.open();
      },
      // A chained recipe's base is made (or found in the store) whatever turbo says: the base must exist either way.
      beforeBaseWork: async () => {
        await turbo.decisions.base;
        gate.open();
      },
      // turbo starts `recover` only once `recover-base` has its result: handed over before the recovery waits for turbo.
      afterBaseWork: (step) => base.deliver(ExitCode.ok, { ok: true, recipe: step.recipe, step: step.made ? "converted" : "reused" }),
      onSummary: (s) => (summary = s),
    };
    const code = await runCli(["recover", ...args], { ...context, stdout: gate.stdout, stderr: gate.stderr, signal: work.signal, hooks });
    context.signal?.removeEventListener("abort", stop);
    if (!cached) {
      gate.open();
      // Not having it only costs a later hit, which then runs the recipe again.
      if (code === ExitCode.ok && summary && isTensorRecipe(loaded)) await recordMade(store, digest, receiptOf(summary)).catch(() => undefined);
      // A run that stopped before its base step was done fails that step too, so turbo caches neither.
      await base.deliver(code === ExitCode.ok ? ExitCode.internal : code, { ok: false, recipe: loaded.baseRecipe?.recipe.name ?? loaded.recipe.name, exitCode: code });
      await handOver(turbo, relay, code, summary, loaded, context, verbose);
      return code;
    }
    gate.discard();
    await turbo.exited;
    const known = await readKnownOutputs(receiptFile, loaded);
    if (isTensorRecipe(loaded)) return putBackTensorOutputs({ loaded, known, digest, store, paths, args, to }, context);
    context.stderr.write(`model-recover: turbo cache hit: ${loaded.recipe.name} was recovered and verified from these very inputs before; checking the outputs and putting back what is missing from the store, no XOR work\n`);
    return runCli(["recover", ...args], { ...context, hooks: { store: { dir: store, ...(known ? { known } : {}) } } });
  } finally {
    await relay.close();
    await baseRelay.close();
  }
}

/**
 * turbo's `recover-base` task, from this side: on a miss its relay waits for the base step's result,
 * which is handed over once (a later call does nothing); a recipe without a base step has digest
 * "none", whose task never connects.
 */
class BaseStep {
  private delivered = false;

  constructor(
    private readonly turbo: TurboRun,
    private readonly relay: Relay,
    private readonly digest: string,
  ) {}

  async deliver(code: number, receipt: BaseReceipt): Promise<void> {
    if (this.delivered || this.digest === "none") return;
    this.delivered = true;
    if ((await this.turbo.decisions.base) !== "miss") return;
    await Promise.race([this.relay.connected, this.turbo.exited]);
    await this.relay.deliver(code, receipt);
  }
}

/** Give the task the run's result (turbo caches it when it is a success) and wait for turbo to finish. */
async function handOver(turbo: TurboRun, relay: Relay, code: number, summary: RecoverSummary | undefined, loaded: AnyLoadedRecipe, context: CommandContext, verbose: boolean): Promise<void> {
  const decision = await turbo.decisions.main;
  // A miss is known from turbo's output before its task has started and connected.
  if (decision === "miss") await Promise.race([relay.connected, turbo.exited]);
  if (decision === "miss") {
    const receipt: RunReceipt = code === ExitCode.ok && summary ? receiptOf(summary) : { ok: false, recipe: loaded.recipe.name, exitCode: code };
    await relay.deliver(code, receipt);
  }
  const { code: turboCode, output } = await turbo.exited;
  // turbo failing on its own (not by relaying our exit code) only costs the cache; say so once.
  if (code === ExitCode.ok && (decision === "unavailable" || turboCode !== 0)) {
    const why = output.trim().split("\n").at(-1) ?? "no output";
    if (!verbose) context.stderr.write(`model-recover: note: turbo did not cache this recovery (${why}); pnpm recover --verbose shows its output\n`);
  }
}
