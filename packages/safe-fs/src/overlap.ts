import { realpath, stat } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";

export type Overlap = "same" | "inside" | "contains";

/**
 * How folder (or file) `a` relates to `b` on disk: the same, inside it, or containing it. Compared
 * by device and inode of real ancestors, after symlinks, so `/data/out` and a link to it, a bind
 * mount, or a case-insensitive spelling are all seen for what they are. `a` need not exist yet (an
 * output folder about to be made): its nearest existing ancestor stands for it, and two paths not made
 * yet are compared by name below their real existing ancestors.
 */
export async function overlapOf(a: string, b: string): Promise<Overlap | undefined> {
  const chainA = await ancestry(a);
  const chainB = await ancestry(b);
  if (!chainA.exists || !chainB.exists) {
    // A path that does not exist yet can only be inside something that does, or be named (after the
    // links of its existing part) the same as, or above or below, another path not made yet.
    if (chainB.exists && chainA.ids.some((id) => id === chainB.ids[0])) return "inside";
    if (chainA.real === chainB.real) return "same";
    if (chainA.real.startsWith(withSep(chainB.real))) return "inside";
    if (chainB.real.startsWith(withSep(chainA.real))) return "contains";
    return undefined;
  }
  if (chainA.ids[0] === chainB.ids[0]) return "same";
  if (chainA.ids.includes(chainB.ids[0]!)) return "inside";
  if (chainB.ids.includes(chainA.ids[0]!)) return "contains";
  return undefined;
}

/** `dev:ino` of the path (or its nearest existing ancestor) and of every ancestor up to the root. */
async function ancestry(path: string): Promise<{ exists: boolean; ids: string[]; real: string }> {
  const full = resolve(path);
  let at = full;
  let exists = true;
  while (!(await stat(at).catch(() => undefined))) {
    exists = false;
    if (dirname(at) === at) return { exists, ids: [], real: full };
    at = dirname(at);
  }
  const real = await realpath(at);
  const ids: string[] = [];
  for (let dir = real; ; dir = dirname(dir)) {
    const info = await stat(dir);
    ids.push(`${info.dev}:${info.ino}`);
    if (dirname(dir) === dir) break;
  }
  return { exists, ids, real: join(real, relative(at, full)) };
}

const withSep = (path: string) => (path.endsWith(sep) ? path : `${path}${sep}`);
