// @ts-check
// What the tests need from the system: coreutils' md5sum and sha256sum (the end-to-end tests check
// every output with them) and Debian's python3-torch, which the interop lane (test/interop) runs as
// /usr/bin/python3: another python3 on PATH may have no torch. apt-get installs them only when one
// is missing, quietly and without questions, as root or through sudo; without either, one line says
// what to run as root.
import { spawnSync } from "node:child_process";
import { SetupError, onPath, say } from "./shared.mjs";

const packages = ["coreutils", "python3", "python3-torch"];
const asRoot = `apt-get update && apt-get install -y ${packages.join(" ")}`;
const need = "coreutils (md5sum, sha256sum) and Debian's python3-torch";

export function ensureSystemPackages() {
  const absent = missing();
  if (absent.length === 0) return;
  if (!onPath("apt-get")) {
    throw new SetupError("SETUP_SYSTEM_PACKAGES", `the tests need ${need} (missing: ${absent.join(", ")}) and there is no apt-get here: install them, or run the tests that need neither: node scripts/setup.mjs, then pnpm test:portable`);
  }
  const runner = process.getuid?.() === 0 ? [] : onPath("sudo") ? ["sudo"] : undefined;
  if (!runner) throw new SetupError("SETUP_SYSTEM_PACKAGES", `the tests need ${need} (missing: ${absent.join(", ")}), and installing them needs root; as root, run: ${asRoot}`);
  say(`installing ${packages.join(" ")} with ${[...runner, "apt-get"].join(" ")} (missing: ${absent.join(", ")})`);
  apt(runner, ["update", "-qq"]);
  apt(runner, ["install", "-y", "-qq", ...packages]);
  const still = missing();
  if (still.length > 0) throw new SetupError("SETUP_SYSTEM_PACKAGES", `apt-get installed ${packages.join(" ")}, yet the tests would still miss ${still.join(", ")}: check PATH, and /usr/bin/python3 -c "import torch"`);
}

/** What the tests would miss: md5sum or sha256sum on PATH, torch for /usr/bin/python3. */
function missing() {
  const absent = ["md5sum", "sha256sum"].filter((tool) => !onPath(tool));
  if (spawnSync("/usr/bin/python3", ["-c", "import torch"], { stdio: "ignore" }).status !== 0) absent.push("torch for /usr/bin/python3");
  return absent;
}

/** @param {string[]} runner [] as root, ["sudo"] otherwise @param {string[]} args */
function apt(runner, args) {
  // sudo resets the environment, so the frontend goes on its command line (sudo VAR=value command).
  const [command, ...rest] = [...runner, ...(runner.length ? ["DEBIAN_FRONTEND=noninteractive"] : []), "apt-get", ...args];
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const result = spawnSync(/** @type {string} */ (command), rest, { env, stdio: ["inherit", "ignore", "inherit"] });
  if (result.status !== 0) throw new SetupError("SETUP_SYSTEM_PACKAGES", `${[command, ...rest].join(" ")} failed (exit ${result.status ?? result.signal}); as root, run: ${asRoot}`);
}
