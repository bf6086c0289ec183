#!/usr/bin/env node
// `pnpm recover <recipe> [flags]`: the cached recovery (packages/cli/src/turbo/main.ts), from the
// TypeScript sources, at the repository root where turbo runs. A bin of this private package rather
// than a root script, because pnpm echoes `$ <command>` before every script and before no bin.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const entry = join(root, "packages", "cli", "src", "turbo", "main.ts");
const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", entry, ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, INIT_CWD: process.env.INIT_CWD ?? process.cwd() },
});
// Ctrl-C reaches the child from the terminal; the first one stops it cleanly, so this one waits.
process.on("SIGINT", () => {});
child.on("exit", (code, signal) => {
  process.exitCode = code ?? (signal === "SIGINT" ? 130 : 1);
});
