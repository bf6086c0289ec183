import { rm, stat, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { benchOriginals } from "./bench-originals.js";
import { type Measured, measure, median } from "./measure.js";

export interface ConvertBenchOptions {
  root: string;
  dir: string;
  runs: number;
  /** The two model sizes, in layers of a LLaMA-30B-shaped model: memory must not grow with them. */
  layers: [number, number];
}

/**
 * `pnpm bench --convert`: model-recover convert-llama (the built CLI) against the floors measured on
 * the same files in the same run (cat of the originals, sha256sum of the converted .bin, which the
 * conversion also computes), at two model sizes, to .bin and to safetensors; each row the median of
 * the runs, interleaved. Every output is checked with sha256sum -c against the summary.
 */
export async function benchConversion(options: ConvertBenchOptions) {
  const cli = [process.execPath, join(options.root, "packages/cli/bin/model-recover.js")];
  const rows: { layers: number; inputBytes: number; measured: Measured }[] = [];
  for (const layers of options.layers) {
    process.stderr.write(`bench: LLaMA-30B-shaped originals with ${layers} layer(s) in ${options.dir} (reused if present)\n`);
    const originals = await benchOriginals(options.dir, layers);
    const inputBytes = (await Promise.all(originals.files.map((f) => stat(f)))).reduce((sum, s) => sum + s.size, 0);
    const out = join(options.dir, "out");
    const cat = ["sh", "-c", `cat ${originals.files.map((f) => `'${f}'`).join(" ")} > /dev/null`];
    await measure("warm-up", cat, options.root);
    const samples = new Map<string, Measured[]>();
    const record = (m: Measured) => samples.set(m.label, [...(samples.get(m.label) ?? []), m]);
    for (let run = 1; run <= options.runs; run++) {
      record(await measure("cat originals > /dev/null", cat, options.root));
      for (const format of ["bin", "safetensors"]) {
        await rm(out, { recursive: true, force: true });
        const converted = await measure(`convert-llama --to ${format}`, [...cli, "convert-llama", originals.dir, "--out", out, "--to", format], options.root);
        record(converted);
        // The outputs were written past the page cache (O_DIRECT): warmed first, as the inputs were.
        await measure("warm outputs", ["sh", "-c", `cat '${out}'/* > /dev/null`], options.root);
        const checked = await checkOutputs(converted.stdout, out, options.dir);
        if (format === "bin") record({ ...checked, label: "sha256sum -c of the .bin outputs" });
      }
    }
    await rm(out, { recursive: true, force: true });
    for (const measured of [...samples.values()].map(median)) rows.push({ layers, inputBytes, measured });
  }
  const floor = (layers: number, label: string) => rows.find((r) => r.layers === layers && r.measured.label.startsWith(label))!.measured;
  const table = rows.map(({ layers, inputBytes, measured }) => ({
    originals: `${(inputBytes / 1e9).toFixed(2)} GB (${layers} layer${layers > 1 ? "s" : ""})`,
    label: measured.label,
    wall: measured.wall,
    gbPerSecond: inputBytes / 1e9 / measured.wall,
    vsCat: floor(layers, "cat").wall / measured.wall,
    vsSha256sum: floor(layers, "sha256sum").wall / measured.wall,
    peakRssMb: measured.maxRssKb / 1024,
    cpuSeconds: measured.user + measured.sys,
  }));
  return { machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown", node: process.version }, runs: options.runs, table };
}

export function convertTable(result: Awaited<ReturnType<typeof benchConversion>>): string {
  const peaks = result.table.filter((t) => t.label === "convert-llama --to bin").map((t) => `${t.peakRssMb.toFixed(0)} MB with ${t.originals}`);
  return [
    `bench --convert: LLaMA-30B-shaped originals (4 files), ${result.machine.cpus} × ${result.machine.model}, Node ${result.machine.node}, warm page cache, median of ${result.runs} runs`,
    "",
    "| originals | run | wall s | GB/s of originals | × cat | × sha256sum | peak RSS MB | CPU s |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
    ...result.table.map((t) => `| ${t.originals} | ${t.label} | ${t.wall.toFixed(2)} | ${t.gbPerSecond.toFixed(3)} | ${t.vsCat.toFixed(2)} | ${t.vsSha256sum.toFixed(2)} | ${t.peakRssMb.toFixed(0)} | ${t.cpuSeconds.toFixed(2)} |`),
    "",
    `peak RSS of a conversion: ${peaks.join(", ")}; outputs checked by sha256sum -c against each summary.`,
  ].join("\n");
}

/** A fast wrong answer must not pass: the files on disk must have the sha256s the summary printed. */
export async function checkOutputs(summary: string, out: string, dir: string): Promise<Measured> {
  const sums = [...summary.matchAll(/^(\S+) +[\d.]+ [kMGT]?B +sha256 ([0-9a-f]{64}) +verified/gm)].map(([, name, sha256]) => `${sha256}  ${name}\n`);
  if (sums.length === 0) throw new Error(`no sha256 in the conversion's summary:\n${summary}`);
  await writeFile(join(dir, "outputs.sha256"), sums.join(""));
  const check = await measure("sha256sum -c", ["sha256sum", "--quiet", "-c", join(dir, "outputs.sha256")], out, { allowFailure: true });
  if (check.code !== 0) throw new Error(`conversion outputs do not verify with sha256sum -c (${join(dir, "outputs.sha256")})`);
  return check;
}
