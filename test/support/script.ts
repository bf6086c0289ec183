import { execFile } from "node:child_process";
import { join } from "node:path";
import { repoRoot, type CliRun } from "./cli.js";

/** Run `scripts/<name>` the way the workflows do: `node --conditions=source --import tsx scripts/<name>` from the root. */
export function runScript(name: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  const argv = ["--conditions=source", "--import", "tsx", join(repoRoot, "scripts", name), ...args];
  // INIT_CWD is where a user typed `pnpm …`; a test gives absolute paths instead.
  const env = { ...process.env, INIT_CWD: undefined, ...options.env };
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: repoRoot, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}
