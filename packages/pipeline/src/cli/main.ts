import { runCli } from "./run-cli.js";

// pnpm runs scripts from the repository root; INIT_CWD is where the user typed the command, so
// relative paths they give mean what they expect.
const cwd = process.env.INIT_CWD ?? process.cwd();

// The first Ctrl-C stops cleanly (files keep their resume points); a second one stops at once.
const interrupt = new AbortController();
process.once("SIGINT", () => {
  process.stderr.write("\nmodel-recover: stopping after the chunks in flight (Ctrl-C again to stop at once)…\n");
  interrupt.abort();
  process.once("SIGINT", () => process.exit(130));
});

process.exitCode = await runCli(process.argv.slice(2), { cwd, env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, signal: interrupt.signal });
