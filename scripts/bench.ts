// pnpm bench [--size 4GB] [--runs 3] [--json] [--dir <scratch>] [--python-slice 64MB]
// One run, one table: recover against the floors measured on the same files in the same run
// (md5sum and sha256sum of the outputs, cat of the inputs) and the published pure-Python XOR.
// Each row is the median of --runs runs, interleaved, so a noisy moment of the machine hits all rows.
// pnpm bench --convert [--layers 1,4] [--runs 3] [--json] [--dir <scratch>]: convert-llama instead,
// against cat of the originals, at two model sizes (bench/bench-convert.ts).
// pnpm bench --delta [--layers 1,3] [--runs 3] [--json] [--dir <scratch>]: apply-delta, against cat of
// base + delta, at two model sizes (bench/bench-delta.ts).
import { execFileSync } from "node:child_process";
import { readdir, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { benchConversion, convertTable } from "./bench/bench-convert.js";
import { benchDelta, deltaTable } from "./bench/bench-delta.js";
import { benchRelease } from "./bench/bench-release.js";
import { serveBenchRelease } from "./bench/bench-from-hub.js";
import { measure, median, type Measured } from "./bench/measure.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({
  options: {
    size: { type: "string", default: "4GB" },
    runs: { type: "string", default: "3" },
    json: { type: "boolean", default: false },
    dir: { type: "string" },
    "python-slice": { type: "string", default: "64MB" },
    convert: { type: "boolean", default: false },
    layers: { type: "string" },
    delta: { type: "boolean", default: false },
  },
});
if (values.convert) await convertBench();
if (values.delta) await deltaBench();
const totalBytes = parseSize(values.size!);
const runs = Number(values.runs);
const dir = values.dir ?? join(tmpdir(), `model-recover-bench-${values.size}`);
const log = (line: string) => process.stderr.write(`${line}\n`);

log(`bench: building a ${values.size} release shaped like BELLE-LLaMA-13B-2M in ${dir} (reused if present)`);
const release = await benchRelease(dir, totalBytes);
// The product as users get it: the built CLI, not the TypeScript sources.
execFileSync("pnpm", ["build"], { cwd: root, stdio: "ignore" });
const outDir = join(dir, "out");
const encFiles = release.recipe.files.map((f) => join(release.encDir, `${f.name}.${(f as { sha256: string }).sha256}.enc`));
const outFiles = release.recipe.files.map((f) => join(outDir, f.name));
const outputBytes = release.recipe.files.reduce((sum, f) => sum + (f.size ?? 0), 0);
const cli = [process.execPath, join(root, "packages/cli/bin/model-recover.js")];
const recoverArgs = ["recover", release.recipePath, "--base", release.basePath, "--enc", release.encDir, "--out", outDir];
const hub = await serveBenchRelease(root, dir, release.encDir, release.recipe);
const fromHubArgs = ["recover", hub.recipePath, "--base", release.basePath, "--from-hub", "--out", outDir];
const catAll = (files: string[]) => ["sh", "-c", `cat ${files.map(quote).join(" ")} > /dev/null`];

// Warm the page cache with the inputs; outputs are warmed before each hashing baseline, since
// recover writes them past the page cache.
await measure("warm-up", catAll([...encFiles, release.basePath]), root);
const samples = new Map<string, Measured[]>();
const record = (m: Measured) => samples.set(m.label, [...(samples.get(m.label) ?? []), m]);
for (let run = 1; run <= runs; run++) {
  log(`bench: run ${run} of ${runs}`);
  record(await measure("cat inputs > /dev/null", catAll([...encFiles, release.basePath]), root));
  await rm(outDir, { recursive: true, force: true });
  record(await measure("model-recover recover", [...cli, ...recoverArgs], root));
  await measure("warm outputs", catAll(outFiles), root);
  record(await measure("md5sum outputs", ["md5sum", ...outFiles], root));
  record(await measure("sha256sum outputs", ["sha256sum", ...outFiles], root));
  await verifyOutputs(release.recipe.files, outDir);
  await rm(outDir, { recursive: true, force: true });
  // The same release streamed from the test Hub on 127.0.0.1 (HTTP, CDN redirect, LFS sha256 checked on the way).
  record(await measure("recover --from-hub (test Hub on 127.0.0.1)", [...cli, ...fromHubArgs], root, { env: { HF_ENDPOINT: hub.endpoint, HF_TOKEN: "" } }));
  await verifyOutputs(release.recipe.files, outDir);
  await rm(outDir, { recursive: true, force: true });
  record(await measure("recover --verify sha256", [...cli, ...recoverArgs, "--verify", "sha256"], root));
  await verifyOutputs(release.recipe.files, outDir);
  await rm(outDir, { recursive: true, force: true });
  // Straight to safetensors in the same pass: the .bin bytes are verified, the .safetensors written.
  record(await measure("recover --to safetensors", [...cli, ...recoverArgs, "--to", "safetensors"], root));
  // The bench's shards are noise under made-up names, so each file is checked, not the model.
  for (const shard of (await readdir(outDir)).filter((n) => n.endsWith(".safetensors"))) {
    const inspected = await measure("inspect", [...cli, "inspect", join(outDir, shard)], root, { allowFailure: true });
    if (inspected.code !== 0) throw new Error(`${shard}: not a valid safetensors file:\n${inspected.stdout}`);
  }
  await rm(outDir, { recursive: true, force: true });
  // The headline command's first run against the same recovery started the same way (pnpm, sources).
  record(await measure("pnpm model-recover recover", ["pnpm", "model-recover", ...recoverArgs], root));
  await verifyOutputs(release.recipe.files, outDir);
  await rm(outDir, { recursive: true, force: true });
  const fresh = { TURBO_CACHE_DIR: join(dir, `turbo-cache-${run}`), MODEL_RECOVER_STORE: join(dir, `store-${run}`) };
  record(await measure("pnpm recover, 1st run (turbo miss)", ["pnpm", ...recoverArgs], root, { env: fresh }));
  await verifyOutputs(release.recipe.files, outDir);
  await rm(outDir, { recursive: true, force: true });
  for (const path of Object.values(fresh)) await rm(path, { recursive: true, force: true });
}
// A second `pnpm recover` of unchanged inputs is a turbo cache hit (no XOR work); so is one into a
// deleted output folder, whose files come back from the store.
const turboEnv = { TURBO_CACHE_DIR: join(dir, "turbo-cache"), MODEL_RECOVER_STORE: join(dir, "store") };
const viaTurbo = ["pnpm", ...recoverArgs];
await rm(join(dir, "turbo-cache"), { recursive: true, force: true });
await rm(join(dir, "store"), { recursive: true, force: true });
hub.close();
await measure("pnpm recover, 1st run (turbo miss)", viaTurbo, root, { env: turboEnv });
const turboSecond = await measure("pnpm recover, 2nd run (turbo hit)", viaTurbo, root, { env: turboEnv });
await verifyOutputs(release.recipe.files, outDir);
await rm(outDir, { recursive: true, force: true });
const turboRestore = await measure("pnpm recover, output deleted (hit, put back from the store)", viaTurbo, root, { env: turboEnv });
await verifyOutputs(release.recipe.files, outDir);
await rm(outDir, { recursive: true, force: true });

const rows = [...samples.values()].map(median);
const row = (label: string) => rows.find((r) => r.label === label)!;
const recover = row("model-recover recover");

const slice = Math.min(parseSize(values["python-slice"]!), Math.max(...release.recipe.files.map((f) => f.size ?? 0)));
const biggest = release.recipe.files.reduce((a, b) => ((a.size ?? 0) >= (b.size ?? 0) ? a : b));
const pythonRate = Number(
  (await measure("python", ["python3", join(root, "scripts/bench/python_xor_baseline.py"), join(release.encDir, `${biggest.name}.${(biggest as { sha256: string }).sha256}.enc`), release.basePath, join(dir, "python.out"), String(slice)], dir)).stdout,
);
await rm(join(dir, "python.out"), { force: true });

const md5sum = rows.find((r) => r.label === "md5sum outputs")!;
const rate = (r: Measured) => (r.label.startsWith("cat") ? inputBytes(release, totalBytes) : outputBytes) / r.wall;
const table = rows.map((r) => ({ label: r.label, wall: r.wall, gbPerSecond: rate(r) / 1e9, vsMd5sum: rate(r) / rate(md5sum), peakRssMb: r.maxRssKb / 1024, cpuSeconds: r.user + r.sys, code: r.code }));
const result = {
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown", node: process.version },
  outputBytes,
  table,
  python: { sliceBytes: slice, gbPerSecond: pythonRate / 1e9, recoverVsPython: rate(recover) / pythonRate },
  ratios: {
    safetensorsVsBin: rate(row("recover --to safetensors")) / rate(recover),
    fromHubVsFolder: rate(row("recover --from-hub (test Hub on 127.0.0.1)")) / rate(recover),
    firstRunVsDirect: row("pnpm recover, 1st run (turbo miss)").wall / row("pnpm model-recover recover").wall,
    firstRunVsBuiltCli: row("pnpm recover, 1st run (turbo miss)").wall / recover.wall,
  },
  turbo: { secondRunSeconds: turboSecond.wall, restoreSeconds: turboRestore.wall },
};
if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else printTable(result);
await writeFile(join(dir, "last-run.json"), JSON.stringify(result, null, 2));

/** pnpm bench --convert: its own rows and table, then the end of the run (the recovery bench is not run). */
async function convertBench(): Promise<never> {
  const layers = (values.layers ?? "1,4").split(",").map(Number) as [number, number];
  const dir = values.dir ?? join(tmpdir(), "model-recover-bench-convert");
  execFileSync("pnpm", ["build"], { cwd: root, stdio: "ignore" });
  const converted = await benchConversion({ root, dir, runs: Number(values.runs), layers });
  await writeFile(join(dir, "last-run.json"), JSON.stringify(converted, null, 2));
  process.stdout.write(values.json ? `${JSON.stringify(converted, null, 2)}\n` : `${convertTable(converted)}\n`);
  process.exit(0);
}

/** pnpm bench --delta: its own rows and table, then the end of the run. */
async function deltaBench(): Promise<never> {
  const layers = (values.layers ?? "1,3").split(",").map(Number) as [number, number];
  const dir = values.dir ?? join(tmpdir(), "model-recover-bench-delta");
  execFileSync("pnpm", ["build"], { cwd: root, stdio: "ignore" });
  const applied = await benchDelta({ root, dir, runs: Number(values.runs), layers });
  await writeFile(join(dir, "last-run.json"), JSON.stringify(applied, null, 2));
  process.stdout.write(values.json ? `${JSON.stringify(applied, null, 2)}\n` : `${deltaTable(applied)}\n`);
  process.exit(0);
}

function printTable(r: typeof result): void {
  const lines = [
    `bench: ${(r.outputBytes / 1e9).toFixed(2)} GB of outputs, ${r.machine.cpus} × ${r.machine.model}, Node ${r.machine.node}, warm page cache, median of ${runs} runs`,
    "",
    "| run | wall s | GB/s | × md5sum | peak RSS MB | CPU s |",
    "|---|---:|---:|---:|---:|---:|",
    ...r.table.map((t) => `| ${t.label} | ${t.wall.toFixed(2)} | ${t.gbPerSecond.toFixed(3)} | ${t.vsMd5sum.toFixed(2)} | ${t.peakRssMb.toFixed(0)} | ${t.cpuSeconds.toFixed(2)} |`),
    `| pure-Python XOR (published scripts' way, ${(r.python.sliceBytes / 1e6).toFixed(0)} MB slice) | | ${r.python.gbPerSecond.toFixed(4)} | | | |`,
    "",
    `recover is ${r.python.recoverVsPython.toFixed(0)}× the pure-Python decrypt; outputs verified by md5sum -c.`,
    `recover --to safetensors runs at ${r.ratios.safetensorsVsBin.toFixed(2)}× the throughput of recover (same release, same run).`,
    `recover --from-hub (the test Hub on 127.0.0.1) runs at ${r.ratios.fromHubVsFolder.toFixed(2)}× the throughput of recover from the local folder (same release, same run).`,
    `pnpm recover, 1st run: ${r.ratios.firstRunVsDirect.toFixed(2)}× pnpm model-recover recover, ${r.ratios.firstRunVsBuiltCli.toFixed(2)}× the built CLI; 2nd run ${r.turbo.secondRunSeconds.toFixed(1)} s (cache hit),`,
    `output folder deleted: ${r.turbo.restoreSeconds.toFixed(1)} s (cache hit, files put back from the store).`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

function inputBytes(rel: typeof release, total: number): number {
  return rel.recipe.files.reduce((sum, f) => sum + (f.size ?? 0) + 32, 0) + Math.floor(total / 2);
}

/** A fast wrong answer must not pass: every output of every run is checked by the system's md5sum -c. */
async function verifyOutputs(files: typeof release.recipe.files, out: string): Promise<void> {
  const list = files.map((f) => `${f.md5}  ${f.name}\n`).join("");
  await writeFile(join(dir, "outputs.md5"), list);
  const check = await measure("md5sum -c", ["md5sum", "--quiet", "-c", join(dir, "outputs.md5")], out, { allowFailure: true });
  if (check.code !== 0) throw new Error(`bench outputs do not verify with md5sum -c (${join(dir, "outputs.md5")})`);
}

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?$/i.exec(text);
  if (!match) throw new Error(`--size ${text}: expected a size like 4GB or 512MB`);
  const unit = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9 }[(match[2] ?? "B").toUpperCase() as "B"];
  return Math.round(Number(match[1]) * unit);
}

function quote(path: string): string {
  return `'${path.replaceAll("'", "'\\''")}'`;
}
