import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Debian's python3-torch 1.13.1 lives under /usr/bin/python3, not a pyenv or venv interpreter on PATH. */
export const PYTHON = "/usr/bin/python3";

const require = createRequire(import.meta.url);
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

/** The Python references of the packages below, found by module resolution. */
export const SCRIPTS = {
  /** Tiny LLaMA originals, their conversion by torch, and a bit-for-bit comparison of two folders. */
  llamaReference: join(packageDir("@model-recover/llama-convert"), "src", "test-support", "llama_reference.py"),
  /** Tiny LLaMA base/delta pairs and FastChat's apply_delta done by torch. */
  deltaReference: fileURLToPath(new URL("./delta_reference.py", import.meta.url)),
  /** Valid and hostile torch.save checkpoints. */
  makeCheckpoints: join(packageDir("@model-recover/torch-format"), "test-support", "make_checkpoints.py"),
  /** A safetensors file checked against the format and against torch.load of its .bin. */
  checkSafetensors: join(packageDir("@model-recover/torch-format"), "test-support", "check-safetensors.py"),
  /** Every tensor of a checkpoint as torch.load reads it, as raw bytes. */
  dumpTensors: fileURLToPath(new URL("./dump_tensors.py", import.meta.url)),
};

export interface PythonRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a reference script with torch (-B: no __pycache__ left in a package). */
export function python(script: string, args: readonly string[]): Promise<PythonRun> {
  return new Promise((resolve) => {
    execFile(PYTHON, ["-B", script, ...args], { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** As python(), but a failure is the test's error, with what the script said. */
export async function pythonOk(script: string, args: readonly string[]): Promise<string> {
  const run = await python(script, args);
  if (run.code !== 0) throw new Error(`${script} ${args.join(" ")} failed (is python3-torch installed?): ${run.stderr}`);
  return run.stdout;
}
