import { interruptSignal } from "./interrupt.js";
import { runCli } from "./run-cli.js";

// pnpm runs scripts from the repository root; INIT_CWD is where the user typed the command, so
// relative paths they give mean what they expect.
const cwd = process.env.INIT_CWD ?? process.cwd();
const signal = interruptSignal(process.stderr);

process.exitCode = await runCli(process.argv.slice(2), { cwd, projectDir: process.cwd(), env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, signal });
