// @ts-check
// What the set-up steps share: their error type, their voice, and finding a program on PATH.
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/** A step that cannot go on; the message is one line that says what to do. */
export class SetupError extends Error {
  /** @param {"SETUP_USAGE" | "SETUP_NODE" | "SETUP_PACKAGE_JSON" | "SETUP_NO_NPM" | "SETUP_PNPM" | "SETUP_SYSTEM_PACKAGES"} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = "SetupError";
    this.code = code;
  }
}

/** @param {string} line */
export function say(line) {
  process.stderr.write(`setup: ${line}\n`);
}

/** Whether an executable file of that name is in one of PATH's folders (what a shell would run). @param {string} name */
export function onPath(name) {
  for (const dir of (process.env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}
