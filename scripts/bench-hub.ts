// pnpm bench:hub [--size 4GB] [--runs 3] [--dir <scratch>]
// Throughput of @model-recover/hf-hub's file stream from its test Hub on 127.0.0.1 (an LFS file,
// so through the endpoint's redirect to the CDN origin), against reading the same file from disk
// and against a plain fetch of the CDN URL. The server runs in its own process; each row is its own
// process too, so its peak RSS shows whether memory stays flat. Median of --runs, interleaved.
import { execFileSync, spawn } from "node:child_process";
import { mkdir, open, stat } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { measure, median, type Measured } from "./bench/measure.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({ options: { size: { type: "string", default: "4GB" }, runs: { type: "string", default: "3" }, dir: { type: "string" } } });
const size = Math.round(Number.parseFloat(values.size!) * { GB: 1e9, MB: 1e6 }[values.size!.replace(/[\d.]/g, "").toUpperCase() as "GB"]);
if (!Number.isSafeInteger(size) || size <= 0) throw new Error(`--size ${values.size}: expected e.g. 4GB or 512MB`);
const dir = values.dir ?? join(tmpdir(), `hf-hub-bench-${values.size}`);
const repo = "bench/release";
const name = "pytorch_model-00001-of-00001.bin.enc";

await makeFile(join(dir, "repo", name), size);
// The client rows run the built package with plain node (see hub-download.mjs), as the CLI does.
execFileSync("pnpm", ["--filter", "@model-recover/hf-hub", "build"], { cwd: root, stdio: "ignore" });
// The test Hub is test support, run from source (tsx); it has a core of its own.
const serverArgs = ["--conditions=source", "--import", "tsx", join(root, "scripts/bench/hub-serve.ts"), join(dir, "repo"), repo];
const server = spawn(process.execPath, serverArgs, { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
const endpoint = await new Promise<string>((resolve) => server.stdout.once("data", (data: Buffer) => resolve(data.toString().trim())));

const modes = { disk: "read from disk, 8 MiB reads (local folder)", fetch: "plain fetch of the CDN URL", chunks: "HubFileStream, for await chunks", read: "HubFileStream.read into an 8 MiB buffer", verify: "HubFileStream, verify: true (sha256)" };
const samples = new Map<string, (Measured & { gbPerSecond: number })[]>();
// Other work on the machine shows in every row: the load average is printed with the table.
const loadBefore = loadavg()[0]!;
await measure("warm-up", ["sh", "-c", `cat '${join(dir, "repo", name)}' > /dev/null`], root);
for (let run = 1; run <= Number(values.runs); run++) {
  for (const [mode, label] of Object.entries(modes)) {
    const measured = await measure(label, [process.execPath, join(root, "scripts/bench/hub-download.mjs"), mode, endpoint, repo, name, join(dir, "repo", name)], root);
    const { bytes, seconds } = JSON.parse(measured.stdout) as { bytes: number; seconds: number };
    if (bytes !== size) throw new Error(`${label}: got ${bytes} bytes of ${size}`);
    samples.set(label, [...(samples.get(label) ?? []), { ...measured, wall: seconds, gbPerSecond: bytes / seconds / 1e9 }]);
  }
}
server.stdin.end();

const rows = [...samples.values()].map((s) => median(s) as Measured & { gbPerSecond: number });
const disk = rows[0]!.gbPerSecond;
const lines = [
  `bench:hub: one ${(size / 1e9).toFixed(2)} GB LFS file, ${cpus().length} × ${cpus()[0]?.model ?? "?"}, Node ${process.version}, test Hub on 127.0.0.1 in its own process, median of ${values.runs} runs`,
  `load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`,
  "",
  "| run | s | GB/s | × disk | peak RSS MB | CPU s |",
  "|---|---:|---:|---:|---:|---:|",
  ...rows.map((r) => `| ${r.label} | ${r.wall.toFixed(2)} | ${r.gbPerSecond.toFixed(3)} | ${(r.gbPerSecond / disk).toFixed(2)} | ${(r.maxRssKb / 1024).toFixed(0)} | ${(r.user + r.sys).toFixed(2)} |`),
];
process.stdout.write(`${lines.join("\n")}\n`);

/** A seeded file of `bytes` (kept in --dir and reused): a 16 MiB seeded block written over and over. */
async function makeFile(path: string, bytes: number): Promise<void> {
  if ((await stat(path).catch(() => undefined))?.size === bytes) return;
  await mkdir(join(path, ".."), { recursive: true });
  const block = xorshift32Bytes(2024, 16 * 1024 * 1024);
  const file = await open(path, "w");
  for (let at = 0; at < bytes; at += block.length) await file.write(block, 0, Math.min(block.length, bytes - at), at);
  await file.close();
}
