// pnpm recover <recipe> [flags]: a recovery as a turbo task, cached by what its inputs ARE.
//
// turbo cannot hash files outside the repository, and multi-GB weights must not go into its cache.
// So this glue hashes the inputs itself (once; reused while a file's stat is unchanged), hands turbo
// one digest of recipe + inputs as the task's hashed environment, and lets turbo cache only the
// receipt the task writes (names, sizes, hashes). The weights live in the output folder and in a
// content-addressed store of hard links, from which a cache hit puts back whatever is missing.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { IdentityCache, loadRecipe, OutputStore, planRecovery, readReceipt, resolveBasePath, resolvePaths, type LoadedRecipe, type PathSettings } from "@model-recover/pipeline";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = [process.execPath, "--conditions=source", "--import", "tsx", join(root, "packages/pipeline/src/cli/main.ts")];
const argv = process.argv.slice(2);
const cwd = process.env.INIT_CWD ?? process.cwd();
const cacheDir = resolve(root, process.env.MODEL_RECOVER_CACHE ?? ".cache/model-recover");
const storeDir = resolve(cwd, process.env.MODEL_RECOVER_STORE ?? join(cacheDir, "store"));

process.exitCode = await main();

async function main(): Promise<number> {
  const request = await understand();
  // Anything this glue cannot make sense of is the CLI's to explain, with its own message and exit code.
  if (!request) return runDirectly();
  const digest = await inputsDigest(request);
  if (!digest) return runDirectly();
  for (const force of [false, true]) {
    const run = runTurbo(request, digest, force);
    const receipt = await readReceipt(join(root, "manifests", ".receipts", `${digest}.json`));
    // The task writes the CLI's own exit code into the receipt when it fails; turbo only says 1.
    if (run.status !== 0 || !receipt?.ok) return receipt && !receipt.ok ? receipt.exitCode : (run.status ?? 1);
    const missing = await putBack(receipt.files, request.paths.out);
    if (missing.length === 0) {
      if (run.hit) process.stderr.write(`model-recover: turbo cache hit, no XOR work: all ${receipt.files.length} files of ${request.loaded.recipe.name} are in ${request.paths.out}\n`);
      return 0;
    }
    // A receipt must never stand without its files: recover again rather than trust it.
    process.stderr.write(`model-recover: ${missing.join(", ")} missing from ${request.paths.out} and from the output store; recovering again\n`);
  }
  return 1;
}

interface Request {
  loaded: LoadedRecipe;
  recipeArg: string;
  paths: PathSettings;
  verify: string;
}

async function understand(): Promise<Request | undefined> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { base: { type: "string" }, enc: { type: "string" }, out: { type: "string" }, config: { type: "string" }, verify: { type: "string", default: "full" }, help: { type: "boolean", short: "h" } },
    });
    if (values.help || positionals.length !== 1 || !["full", "sha256"].includes(values.verify!)) return undefined;
    const loaded = await loadRecipe(positionals[0]!, { cwd });
    const paths = await resolvePaths(loaded, { base: values.base, enc: values.enc, out: values.out }, { cwd, env: process.env, ...(values.config ? { configFile: values.config } : {}) });
    const byName = loaded.file.startsWith("manifests/") || loaded.file.startsWith(join(root, "manifests"));
    return { loaded, recipeArg: byName ? loaded.recipe.name : resolve(cwd, positionals[0]!), paths, verify: values.verify! };
  } catch {
    return undefined;
  }
}

/** sha256 over the recipe's bytes, its pipeline, the verify mode and the content identity of every input. */
async function inputsDigest({ loaded, paths, verify }: Request): Promise<string | undefined> {
  const identities = await IdentityCache.open(join(cacheDir, "identities.json"));
  const inputs: Record<string, string> = {};
  try {
    // The files the recovery will read, as its own plan names them.
    const { tasks } = await planRecovery(loaded, paths.enc);
    for (const task of tasks) inputs[task.sourceName] = await identities.identify(task.source, announceHashing);
    if (loaded.pipeline.key.material === "base-file") inputs["(base)"] = await identities.identify(await resolveBasePath(loaded, paths.base), announceHashing);
    else {
      for (const task of tasks) {
        const baseFile = join(paths.base, task.entry.name);
        if ((await stat(baseFile).catch(() => undefined))?.isFile()) inputs[`(base)/${task.entry.name}`] = await identities.identify(baseFile, announceHashing);
      }
    }
  } catch {
    return undefined;
  } finally {
    await identities.save();
  }
  const recipePath = loaded.file.startsWith("/") ? loaded.file : join(root, loaded.file);
  const recipeBytes = await readFile(recipePath).catch(() => readFile(resolve(cwd, loaded.file)));
  const request = { recipe: sha256(recipeBytes), pipeline: loaded.recipe.pipeline, verify, inputs };
  return sha256(Buffer.from(JSON.stringify(request)));
}

function announceHashing(path: string, bytes: number): void {
  if (bytes > 100_000_000) process.stderr.write(`model-recover: identifying ${path} (${(bytes / 1e9).toFixed(1)} GB, once; reused until the file changes)\n`);
}

function runTurbo({ recipeArg, paths, verify }: Request, digest: string, force: boolean): { status: number | null; hit: boolean } {
  const args = ["exec", "turbo", "run", "recover", "--filter=@model-recover/manifests", "--summarize", "--log-prefix=none", ...(force ? ["--force"] : []), "--", recipeArg, "--verify", verify, "--receipt", `.receipts/${digest}.json`];
  const env = { ...process.env, MODEL_RECOVER_INPUTS_DIGEST: digest, MODEL_RECOVER_BASE: paths.base, MODEL_RECOVER_ENC: paths.enc, MODEL_RECOVER_OUT: paths.out, MODEL_RECOVER_STORE: storeDir, TURBO_TELEMETRY_DISABLED: "1", TURBO_NO_UPDATE_NOTIFIER: "1" };
  const started = Date.now();
  const result = spawnSync("pnpm", args, { cwd: root, env, stdio: "inherit" });
  return { status: result.status, hit: lastRunWasHit(started) };
}

interface RunSummary {
  execution?: { startTime?: number };
  tasks?: { taskId: string; cache?: { status?: string } }[];
}

/** turbo's run summary (--summarize) of the run that started after `since` says whether the task came from the cache. */
function lastRunWasHit(since: number): boolean {
  const runs = join(root, ".turbo", "runs");
  const newest = readdirSync(runs, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".json"))
    .map((e) => join(runs, e.name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!newest) return false;
  const summary = JSON.parse(readFileSync(newest, "utf8")) as RunSummary;
  if ((summary.execution?.startTime ?? 0) < since - 1000) return false;
  return summary.tasks?.find((t) => t.taskId.endsWith("#recover"))?.cache?.status === "HIT";
}

/** Files the receipt names that are not in the output folder are put back from the store; what could not be is returned. */
async function putBack(files: { name: string; size: number; sha256: string }[], outDir: string): Promise<string[]> {
  const store = new OutputStore(storeDir);
  const missing: string[] = [];
  await mkdir(outDir, { recursive: true });
  let restored = 0;
  for (const file of files) {
    const target = join(outDir, file.name);
    const info = await stat(target).catch(() => undefined);
    if (info?.isFile() && info.size === file.size) continue;
    if (await store.restore(file.sha256, file.size, target)) restored++;
    else missing.push(file.name);
  }
  if (restored > 0) process.stderr.write(`model-recover: put back ${restored} files from the output store (${storeDir}) without XOR work; sizes checked\n`);
  return missing;
}

function runDirectly(): number {
  return spawnSync(cli[0]!, [...cli.slice(1), "recover", ...argv], { cwd: root, stdio: "inherit", env: { ...process.env, INIT_CWD: cwd } }).status ?? 1;
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}
