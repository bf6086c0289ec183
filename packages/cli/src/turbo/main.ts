import { interruptSignal } from "../interrupt.js";
import { pnpmRecover } from "./pnpm-recover.js";

// `pnpm recover` runs this at the repository root; INIT_CWD is where the user typed the command.
const repoRoot = process.cwd();
const cwd = process.env.INIT_CWD ?? repoRoot;
const signal = interruptSignal(process.stderr);

process.exitCode = await pnpmRecover(process.argv.slice(2), { cwd, projectDir: repoRoot, repoRoot, env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, signal });
