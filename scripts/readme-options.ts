// pnpm readme:options: rewrite the README's option tables from the commands' declarations
// (packages/cli/src/*-command.ts), so that the README, --help and the parser cannot drift apart.
// Each table sits between `<!-- options: <command> -->` and `<!-- /options -->`.
import { readFile, writeFile } from "node:fs/promises";
import { optionTables } from "./readme-options-lib.js";

const readme = new URL("../README.md", import.meta.url);
const text = await readFile(readme, "utf8");
const updated = optionTables(text);
if (updated === text) process.stderr.write("README.md: option tables already up to date\n");
else {
  await writeFile(readme, updated);
  process.stderr.write("README.md: option tables rewritten\n");
}
