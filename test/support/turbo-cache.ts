import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { system } from "./cli.js";

/**
 * Rewrite every successful receipt inside turbo's cached artifacts, as anyone who can write to the
 * cache (a shared or remote one) could: the artifacts are tar.zst files, unpacked and packed again.
 */
export async function tamperCachedReceipts(cacheDir: string, change: (receipt: { recipe: string; files: Record<string, unknown>[] }) => void): Promise<number> {
  let changed = 0;
  for (const artifact of (await readdir(cacheDir)).filter((n) => n.endsWith(".tar.zst")).map((n) => join(cacheDir, n))) {
    const work = await mkdtemp(join(tmpdir(), "mr-artifact-"));
    await system("sh", ["-c", 'zstd -dc "$0" | tar -x -C "$1"', artifact, work], work);
    for (const entry of await readdir(work, { recursive: true, withFileTypes: true })) {
      const path = join(entry.parentPath, entry.name);
      if (!entry.isFile() || !/[/\\]\.receipts$/.test(entry.parentPath)) continue;
      const receipt = JSON.parse(await readFile(path, "utf8"));
      if (receipt.ok !== true) continue;
      change(receipt);
      await writeFile(path, JSON.stringify(receipt));
      changed++;
    }
    await system("sh", ["-c", 'tar -c -C "$1" $(ls -A "$1") | zstd -q -f -o "$0"', artifact, work], work);
    await rm(work, { recursive: true, force: true });
  }
  return changed;
}
