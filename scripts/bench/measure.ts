import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const rusage = fileURLToPath(new URL("./rusage.py", import.meta.url));

export interface Measured {
  label: string;
  wall: number;
  maxRssKb: number;
  user: number;
  sys: number;
  code: number;
  stdout: string;
}

/** Run `command` under rusage.py: its wall time, peak RSS and CPU time (user + system). */
export async function measure(label: string, command: string[], cwd: string, options: { allowFailure?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Measured> {
  const scratch = await mkdtemp(join(tmpdir(), "rusage-"));
  const report = join(scratch, "r.json");
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile("python3", [rusage, report, "--", ...command], { cwd, env: { ...process.env, ...options.env }, maxBuffer: 64 * 1024 * 1024 }, (error, out, err) => {
      if (error && !options.allowFailure) reject(new Error(`${label} failed: ${err || error.message}`));
      else resolve(out);
    });
  });
  const usage = JSON.parse(await readFile(report, "utf8")) as Omit<Measured, "label" | "stdout">;
  await rm(scratch, { recursive: true, force: true });
  process.stderr.write(`bench: ${label}: ${usage.wall.toFixed(2)} s\n`);
  return { label, stdout, ...usage };
}

/** The run with the median wall time. */
export function median(samples: Measured[]): Measured {
  return [...samples].sort((a, b) => a.wall - b.wall)[Math.floor(samples.length / 2)]!;
}
