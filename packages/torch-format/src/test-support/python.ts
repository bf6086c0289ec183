import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Debian's python3-torch 1.13.1 lives under /usr/bin/python3, not a pyenv or venv interpreter on PATH. */
export const PYTHON = "/usr/bin/python3";
const SUPPORT = fileURLToPath(new URL("../../test-support/", import.meta.url));

export interface PythonRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function python(script: string, args: string[]): Promise<PythonRun> {
  return new Promise((resolve) => {
    // -B: no __pycache__ left in the package by the helper modules.
    execFile(PYTHON, ["-B", join(SUPPORT, script), ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A fresh folder of checkpoints from make_checkpoints.py (`valid` from a seed, or `hostile`). */
export async function makeCheckpoints(kind: "valid" | "hostile", markers?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `torch-format-${kind}-`));
  const args = kind === "valid" ? ["valid", dir, "--seed", "7"] : ["hostile", dir, markers!];
  const run = await python("make_checkpoints.py", args);
  if (run.code !== 0) throw new Error(`make_checkpoints.py ${kind} failed (is python3-torch installed?): ${run.stderr}`);
  return dir;
}

/** check-safetensors.py over [safetensors, bin] pairs. */
export function checkSafetensors(pairs: [string, string][], discard: string[] = []): Promise<PythonRun> {
  const args = pairs.flatMap(([file, bin]) => [file, "--bin", bin]);
  return python("check-safetensors.py", [...args, ...discard.flatMap((name) => ["--discard", name])]);
}
