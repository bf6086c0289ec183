import { execFile } from "node:child_process";
import { promisify } from "node:util";

/** Debian's python3-torch 1.13.1 is under /usr/bin/python3; another python3 on PATH has no torch. */
export const PYTHON = "/usr/bin/python3";

export async function runPython(script: string, args: readonly string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(PYTHON, [script, ...args], { maxBuffer: 64 << 20 });
  return stdout;
}
