import { execFile, spawn, type ChildProcess } from "node:child_process";
import { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { runCli } from "../../packages/cli/src/run-cli.js";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
/** The bundled tiny release (manifests/demo: base and release, recovered by manifests/demo.json). */
export const demoDir = fileURLToPath(new URL("../../manifests/demo/", import.meta.url));
const main = fileURLToPath(new URL("../../packages/cli/src/main.ts", import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run the real `model-recover` CLI in a child process, as `pnpm model-recover` does: from the
 * repository root, with INIT_CWD saying where the user typed the command.
 */
export function modelRecover(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliRun> {
  const env = { ...cleanEnv(), ...(options.cwd ? { INIT_CWD: options.cwd } : {}), ...options.env };
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ["--conditions=source", "--import", "tsx", main, ...args], { cwd: repoRoot, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(options.input ?? "");
  });
}

/**
 * The CLI's own entry point (runCli, what main.ts calls) in this process, its output captured: the
 * same code as a child process runs, without a second's node start per call, for tests that run it
 * on dozens of files.
 */
export async function modelRecoverInProcess(args: string[], options: { cwd?: string } = {}): Promise<CliRun> {
  const output = { stdout: "", stderr: "" };
  const sink = (stream: "stdout" | "stderr") =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        output[stream] += chunk.toString();
        done();
      },
    });
  const code = await runCli(args, { cwd: options.cwd ?? repoRoot, env: cleanEnv(), stdin: Readable.from([]), stdout: sink("stdout"), stderr: sink("stderr") });
  return { code, ...output };
}

/** The user's own settings must not leak into tests. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("MODEL_RECOVER_") || key === "INIT_CWD") delete env[key];
  return env;
}

/** Run a system tool (md5sum, sha256sum, …) and return its output and exit code. */
export function system(command: string, args: string[], cwd: string): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Run a root script the way a user does (`pnpm recover …`), with the user's settings cleared. */
export function pnpmScript(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile("pnpm", args, { cwd: repoRoot, env: { ...cleanEnv(), ...options.env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Start the real CLI without waiting, so a test can kill it mid-run (SIGKILL: no handler runs). */
export function startModelRecover(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): { child: ChildProcess; done: Promise<CliRun & { signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", main, ...args], { cwd: repoRoot, env: { ...cleanEnv(), ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliRun & { signal: NodeJS.Signals | null }>((resolve) => child.on("close", (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr })));
  return { child, done };
}
