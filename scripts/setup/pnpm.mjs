// @ts-check
// pnpm at exactly the version package.json pins in "packageManager": the one on PATH when it is that
// version (a developer's own, CI's pnpm/action-setup), else one in the checkout's .tools/bin
// (git-ignored), installed there by npm. Not corepack: corepack 0.x cannot fetch pnpm 12 ("No
// compatible signature found in package metadata"). Not `npm install -g`: that needs root, and would
// replace a pnpm of another version that the machine's owner chose.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SetupError, say } from "./shared.mjs";

/**
 * @typedef {object} Pnpm
 * @property {string} version the pinned version
 * @property {string} command what to run: "pnpm", or the path of .tools/bin/pnpm
 * @property {string | undefined} binDir the folder children must find `pnpm` in, when not on PATH
 */

/** @param {string} root the repository root @returns {Pnpm} */
export function ensurePnpm(root) {
  const version = pinnedVersion(root);
  if (versionOf("pnpm", root) === version) return { version, command: "pnpm", binDir: undefined };
  const binDir = join(root, ".tools", "bin");
  const command = join(binDir, "pnpm");
  if (versionOf(command, root) !== version) installInto(join(root, ".tools"), version, root);
  const found = versionOf(command, root);
  if (found !== version) throw new SetupError("SETUP_PNPM", `${command}: npm installed pnpm ${version} but it answers ${found ? `--version with ${found}` : "nothing to --version"}; remove ${join(root, ".tools")} and run again`);
  return { version, command, binDir };
}

/** "pnpm@12.4.2" (corepack may append "+sha512.…") in package.json's packageManager. @param {string} root */
function pinnedVersion(root) {
  const file = join(root, "package.json");
  let packageManager;
  try {
    packageManager = JSON.parse(readFileSync(file, "utf8")).packageManager;
  } catch (error) {
    throw new SetupError("SETUP_PACKAGE_JSON", `${file}: cannot be read as JSON (${/** @type {Error} */ (error).message})`);
  }
  const match = /^pnpm@(\d+\.\d+\.\d+(?:-[\w.]+)?)(?:\+.*)?$/.exec(String(packageManager));
  if (!match) throw new SetupError("SETUP_PACKAGE_JSON", `${file}: "packageManager" must be "pnpm@<major.minor.patch>", found ${JSON.stringify(packageManager)}`);
  return /** @type {string} */ (match[1]);
}

/**
 * What `<command> --version` prints, or undefined when it fails: not there, or corepack's shim that
 * cannot fetch pnpm 12. Asked offline for its own version: neither corepack's shim nor a pnpm 9.7+ of
 * another version may download the pinned one on every run (corepack fails its signature and leaves
 * the unpacked 5 MB in its cache; pnpm 10's switch costs seconds), nor prompt for an answer that never comes.
 * @param {string} command @param {string} root
 */
function versionOf(command, root) {
  const env = { ...process.env, COREPACK_ENABLE_DOWNLOAD_PROMPT: "0", COREPACK_ENABLE_NETWORK: "0", npm_config_manage_package_manager_versions: "false" };
  const result = spawnSync(command, ["--version"], { cwd: root, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** @param {string} prefix @param {string} version @param {string} root */
function installInto(prefix, version, root) {
  // --global with --prefix: bin/ and lib/ under the prefix, as npm lays out a global install.
  // --allow-scripts=pnpm: pnpm's install script puts its native binary in place (npm 11 asks for it).
  const args = ["install", "--global", "--prefix", prefix, "--allow-scripts=pnpm", "--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=error", `pnpm@${version}`];
  say(`pnpm ${version} is not on PATH: installing it into ${prefix} (npm ${args.join(" ")})`);
  const result = spawnSync("npm", args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (result.error && /** @type {NodeJS.ErrnoException} */ (result.error).code === "ENOENT") {
    throw new SetupError("SETUP_NO_NPM", `pnpm ${version} is not on PATH, and npm, which would install it, is not either: install npm (Node.js's own installers include it; Debian's nodejs does not: apt-get install npm) or pnpm ${version}`);
  }
  if (result.status !== 0) throw new SetupError("SETUP_PNPM", `npm ${args.join(" ")} failed (exit ${result.status ?? result.signal}); npm's message is above`);
}
