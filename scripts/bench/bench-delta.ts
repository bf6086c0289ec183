import { execFileSync } from "node:child_process";
import { readdir, rm, stat } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { checkOutputs } from "./bench-convert.js";
import { type Measured, measure, median } from "./measure.js";

export interface DeltaBenchOptions {
  root: string;
  dir: string;
  runs: number;
  /** The two model sizes, in layers of a LLaMA-7B-shaped model: memory must not grow with them. */
  layers: [number, number];
}

/**
 * `pnpm bench --delta`: model-recover apply-delta (the built CLI) on a LLaMA-7B-shaped base and delta
 * made by torch (the base in 1 GB shards, the delta in 2 GB ones), against cat of both folders in the
 * same run, at two model sizes, to .bin and to safetensors; each row the median of the runs,
 * interleaved. Every output is checked with sha256sum -c against the summary.
 */
export async function benchDelta(options: DeltaBenchOptions) {
  const cli = [process.execPath, join(options.root, "packages/cli/bin/model-recover.js")];
  const rows: { layers: number; inputBytes: number; measured: Measured }[] = [];
  for (const layers of options.layers) {
    const pair = join(options.dir, `pair-${layers}`);
    if (!(await stat(join(pair, "delta", "config.json")).catch(() => undefined))) {
      process.stderr.write(`bench: a LLaMA-7B-shaped base and delta with ${layers} layer(s) in ${pair} (made by torch once, then reused)\n`);
      const script = join(options.root, "packages/pipeline/src/test-support/delta_reference.py");
      execFileSync("/usr/bin/python3", ["-B", script, "pair", pair, "7", "32000", String(10 ** 9), String(2 * 10 ** 9), "4096", "32", String(layers)], { stdio: "inherit" });
    }
    const inputs = [];
    for (const side of ["base", "delta"]) for (const name of await readdir(join(pair, side))) if (name.endsWith(".bin")) inputs.push(join(pair, side, name));
    const inputBytes = (await Promise.all(inputs.map((f) => stat(f)))).reduce((sum, s) => sum + s.size, 0);
    const out = join(options.dir, "out");
    const cat = ["sh", "-c", `cat ${inputs.map((f) => `'${f}'`).join(" ")} > /dev/null`];
    await measure("warm-up", cat, options.root);
    const samples = new Map<string, Measured[]>();
    const record = (m: Measured) => samples.set(m.label, [...(samples.get(m.label) ?? []), m]);
    for (let run = 1; run <= options.runs; run++) {
      record(await measure("cat base + delta > /dev/null", cat, options.root));
      for (const format of ["bin", "safetensors"]) {
        await rm(out, { recursive: true, force: true });
        const applied = await measure(`apply-delta --to ${format}`, [...cli, "apply-delta", join(pair, "base"), join(pair, "delta"), "--out", out, "--to", format], options.root);
        record(applied);
        await measure("warm outputs", ["sh", "-c", `cat '${out}'/* > /dev/null`], options.root);
        await checkOutputs(applied.stdout, out, options.dir);
      }
    }
    await rm(out, { recursive: true, force: true });
    for (const measured of [...samples.values()].map(median)) rows.push({ layers, inputBytes, measured });
  }
  const cat = (layers: number) => rows.find((r) => r.layers === layers && r.measured.label.startsWith("cat"))!.measured;
  const table = rows.map(({ layers, inputBytes, measured }) => ({
    inputs: `${(inputBytes / 1e9).toFixed(2)} GB (${layers} layer${layers > 1 ? "s" : ""})`,
    label: measured.label,
    wall: measured.wall,
    gbPerSecond: inputBytes / 1e9 / measured.wall,
    vsCat: cat(layers).wall / measured.wall,
    peakRssMb: measured.maxRssKb / 1024,
    cpuSeconds: measured.user + measured.sys,
  }));
  return { machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown", node: process.version }, runs: options.runs, table };
}

export function deltaTable(result: Awaited<ReturnType<typeof benchDelta>>): string {
  const peaks = result.table.filter((t) => t.label === "apply-delta --to bin").map((t) => `${t.peakRssMb.toFixed(0)} MB with ${t.inputs}`);
  return [
    `bench --delta: LLaMA-7B-shaped base (1 GB shards) + delta (2 GB shards), ${result.machine.cpus} × ${result.machine.model}, Node ${result.machine.node}, warm page cache, median of ${result.runs} runs`,
    "",
    "| base + delta | run | wall s | GB/s of inputs | × cat | peak RSS MB | CPU s |",
    "|---|---|---:|---:|---:|---:|---:|",
    ...result.table.map((t) => `| ${t.inputs} | ${t.label} | ${t.wall.toFixed(2)} | ${t.gbPerSecond.toFixed(3)} | ${t.vsCat.toFixed(2)} | ${t.peakRssMb.toFixed(0)} | ${t.cpuSeconds.toFixed(2)} |`),
    "",
    `peak RSS of apply-delta: ${peaks.join(", ")}; outputs checked by sha256sum -c against each summary.`,
  ].join("\n");
}
