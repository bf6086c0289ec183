#!/usr/bin/env node
// `pnpm recover <recipe> [flags]`: the cached recovery (packages/cli/src/turbo/main.ts), run from its
// TypeScript sources in this process, at the repository root where turbo runs. A bin of this private
// package rather than a root script, because pnpm echoes `$ <command>` before every script and
// before no bin.
import { register } from "node:module";
import { register as registerTsx } from "tsx/esm/api";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
process.env.INIT_CWD ??= process.cwd();
process.chdir(root);
register(pathToFileURL(join(root, "scripts", "source-conditions.mjs")));
registerTsx();
await import(pathToFileURL(join(root, "packages", "cli", "src", "turbo", "main.ts")).href);
