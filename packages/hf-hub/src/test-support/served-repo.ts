import { createHash } from "node:crypto";
import { createReadStream, readFileSync, statSync, writeFileSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";

/** A file of a served repo, with the identities the Hub reports for it. */
export interface ServedFile {
  path: string;
  absolutePath: string;
  size: number;
  sha256: string;
  /** The git blob id: of the content for a regular file, of the LFS pointer for an LFS file. */
  gitOid: string;
  lfs?: { pointerSize: number };
}

/**
 * A folder served as a Hub repo at one commit. Files of at least `lfsMinBytes` are LFS files, as
 * the Hub stores large files; the commit id is derived from the files, so it changes when one does.
 */
export class ServedRepo {
  files = new Map<string, ServedFile>();
  commit = "";

  constructor(
    readonly dir: string,
    private readonly lfsMinBytes: number,
  ) {}

  async scan(): Promise<void> {
    this.files.clear();
    for (const absolutePath of await walk(this.dir)) {
      const size = (await stat(absolutePath)).size;
      const sha256 = await sha256OfFile(absolutePath);
      this.add(identify(this.dir, absolutePath, size, sha256, this.lfsMinBytes));
    }
    this.recommit();
  }

  /** Rewrite a file (a test changing the repo between two downloads) and take its new identity at once. */
  updateFile(path: string, bytes: Uint8Array): void {
    const absolutePath = join(this.dir, ...path.split("/"));
    writeFileSync(absolutePath, bytes);
    const sha256 = createHash("sha256").update(readFileSync(absolutePath)).digest("hex");
    this.add(identify(this.dir, absolutePath, statSync(absolutePath).size, sha256, this.lfsMinBytes));
    this.recommit();
  }

  private add(file: ServedFile): void {
    this.files.set(file.path, file);
  }

  private recommit(): void {
    const hash = createHash("sha1");
    for (const path of [...this.files.keys()].sort()) hash.update(`${path}\0${this.files.get(path)!.sha256}\n`);
    this.commit = hash.digest("hex");
  }
}

function identify(dir: string, absolutePath: string, size: number, sha256: string, lfsMinBytes: number): ServedFile {
  const path = relative(dir, absolutePath).split(sep).join("/");
  if (size < lfsMinBytes) return { path, absolutePath, size, sha256, gitOid: gitBlobId(readFileSync(absolutePath)) };
  // The pointer git stores in place of an LFS file (git-lfs spec v1); its blob id is the listing's `oid`.
  const pointer = Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`);
  return { path, absolutePath, size, sha256, gitOid: gitBlobId(pointer), lfs: { pointerSize: pointer.length } };
}

/** git's object id of a blob: sha1 of `blob <size>\0` and the content. */
export function gitBlobId(content: Uint8Array): string {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function walk(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await walk(path)));
    else if (entry.isFile()) found.push(path);
  }
  return found;
}
