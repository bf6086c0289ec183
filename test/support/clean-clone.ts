import { execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { repoRoot } from "./cli.js";

const git = (args: string[], cwd: string) => execFileSync("git", args, { cwd, encoding: "utf8" });

/**
 * `git clone` of this repository into `dest`, with the working tree's uncommitted changes laid over
 * it (edited, new and deleted files that git does not ignore), so that a test runs what is on disk
 * while nothing ignored comes along: no node_modules, .tools, dist or caches.
 */
export async function cleanClone(dest: string): Promise<string> {
  git(["clone", "--quiet", repoRoot, dest], repoRoot);
  const list = (...args: string[]) => git(["ls-files", "-z", ...args], repoRoot).split("\0").filter(Boolean);
  const deleted = new Set(list("--deleted"));
  for (const file of list("--modified", "--others", "--exclude-standard").filter((f) => !deleted.has(f))) {
    await mkdir(dirname(join(dest, file)), { recursive: true });
    await copyFile(join(repoRoot, file), join(dest, file));
  }
  for (const file of deleted) await rm(join(dest, file), { force: true });
  return dest;
}

/** The path of a program on this process's PATH, as a shell would find it. */
export function which(program: string): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return join(dir, program);
    } catch {
      // not in this folder
    }
  }
  throw new Error(`${program} is not on PATH (${process.env.PATH})`);
}
