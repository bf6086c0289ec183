import { mkdir, readFile, realpath, rename, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { hashFile } from "@model-recover/md5-manifest";

interface Entry {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  sha256: string;
}

/**
 * Content hashes of input files (the `.enc` files, the base), computed once and reused while the
 * file's device, inode, size, mtime and ctime are unchanged, the way git's index does. ctime cannot
 * be set back by a user, so a byte changed in place under a restored mtime still counts as a change.
 */
export class IdentityCache {
  private dirty = false;

  private constructor(
    private readonly file: string,
    private readonly entries: Map<string, Entry>,
  ) {}

  static async open(file: string): Promise<IdentityCache> {
    const text = await readFile(file, "utf8").catch(() => "{}");
    let entries: Record<string, Entry> = {};
    try {
      entries = JSON.parse(text) as Record<string, Entry>;
    } catch {
      // A damaged cache only costs re-hashing.
    }
    return new IdentityCache(file, new Map(Object.entries(entries)));
  }

  /** The sha256 of `path`'s content; hashed only when the file changed since it was last hashed. */
  async identify(path: string, onHashing?: (path: string, bytes: number) => void): Promise<string> {
    const real = await realpath(path);
    const info = await stat(real);
    const known = this.entries.get(real);
    if (known && known.dev === info.dev && known.ino === info.ino && known.size === info.size && known.mtimeMs === info.mtimeMs && known.ctimeMs === info.ctimeMs) {
      return known.sha256;
    }
    onHashing?.(path, info.size);
    const { sha256 } = await hashFile(real, ["sha256"]);
    this.entries.set(real, { dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs, sha256: sha256! });
    this.dirty = true;
    return sha256!;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    await mkdir(dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(Object.fromEntries(this.entries), null, 1));
    await rename(temp, this.file);
    this.dirty = false;
  }
}
