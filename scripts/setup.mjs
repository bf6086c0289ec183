// @ts-check
// node scripts/setup.mjs [demo | test]: the README's set-up commands, for a machine that has only
// Node.js 20. Plain Node without dependencies, since it runs before anything is installed. Each step
// is skipped when it is already done, so running it again is quick:
//   1. test only: coreutils and Debian's python3-torch, when missing (setup/system-packages.mjs);
//   2. pnpm at the version package.json pins, from PATH or installed into .tools/bin (setup/pnpm.mjs);
//   3. the dependencies: pnpm install --frozen-lockfile;
//   4. demo: pnpm recover demo (out/demo, verified); test: pnpm test (the whole suite).
import { spawnSync } from "node:child_process";
import { delimiter } from "node:path";
import { fileURLToPath } from "node:url";
import { ensurePnpm } from "./setup/pnpm.mjs";
import { SetupError, say } from "./setup/shared.mjs";
import { ensureSystemPackages } from "./setup/system-packages.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
/** @type {Record<string, string[]>} what each verb runs with pnpm once the dependencies are in */
const verbs = { demo: ["recover", "demo"], test: ["test"] };
const usage = "usage: node scripts/setup.mjs [demo | test]  (demo: recover the bundled release; test: the whole test suite)";

process.exitCode = main(process.argv.slice(2));

/** @param {string[]} args @returns {number} the exit code */
function main(args) {
  try {
    const verb = understand(args);
    if (verb === "test") ensureSystemPackages();
    const pnpm = ensurePnpm(root);
    // Children (scripts/recover.ts, turbo) run `pnpm` by name: they must find the one in .tools/bin.
    const env = pnpm.binDir ? { ...process.env, PATH: [pnpm.binDir, process.env.PATH].filter(Boolean).join(delimiter) } : process.env;
    const run = (/** @type {string[]} */ pnpmArgs) => spawnSync(pnpm.command, pnpmArgs, { cwd: root, env, stdio: "inherit" }).status ?? 1;
    const status = run(["install", "--frozen-lockfile"]) || (verb ? run(/** @type {string[]} */ (verbs[verb])) : 0);
    if (pnpm.binDir) say(`pnpm ${pnpm.version} is in ${pnpm.binDir}, not on your PATH; to type the README's pnpm commands: export PATH="${pnpm.binDir}:$PATH"`);
    return status;
  } catch (error) {
    if (!(error instanceof SetupError)) throw error;
    say(error.message);
    return error.code === "SETUP_USAGE" ? 2 : 1;
  }
}

/** The verb, after checking the Node.js version (package.json's engines: >=20.11). @param {string[]} args */
function understand(args) {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 11)) throw new SetupError("SETUP_NODE", `Node.js 20.11 or newer is needed, this is ${process.version}: install Node.js 20`);
  const verb = args[0];
  if (args.length > 1 || (verb !== undefined && !Object.hasOwn(verbs, verb))) throw new SetupError("SETUP_USAGE", `${args.join(" ")}: ${usage}`);
  return verb;
}
