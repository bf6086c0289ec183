import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type HubServer, startHubServer } from "@model-recover/hf-hub/test-server";
import { packSmallRelease, type SmallRelease } from "./small-release.js";

export const HUB_REPO = "model-recover-tests/small-enc";
/** The big file spans several 10 MiB key chunks, so that a run can be killed between two durable points. */
export const BIG_FILE = "pytorch_model.bin";
export const BIG_BYTES = 35_000_000;

export interface HubRelease extends SmallRelease {
  server: HubServer;
  /** The big file's name in the release (its `.enc` name, sha256 included). */
  bigEnc: string;
}

/**
 * A release made by `pack` (a small config, a multi-chunk weight file), served by the test Hub on
 * 127.0.0.1 with the big file as an LFS file behind the CDN redirect; its recipe names the repo.
 */
export async function serveSmallRelease(dir: string, options: { tokens?: string[] } = {}): Promise<HubRelease> {
  const release = await packSmallRelease(dir, { "config.json": '{"model_type": "llama"}\n', "generation_config.json": '{"bos_token_id": 1}\n', [BIG_FILE]: BIG_BYTES });
  release.recipe.hub = { repo: HUB_REPO };
  await writeFile(release.recipePath, JSON.stringify(release.recipe, null, 2));
  const server = await startHubServer({ repos: { [HUB_REPO]: { dir: release.encDir, ...(options.tokens ? { tokens: options.tokens } : {}) } }, lfsMinBytes: 1 << 20 });
  const bigEnc = (await readdir(release.encDir)).find((name) => name.startsWith(`${BIG_FILE}.`))!;
  return { ...release, server, bigEnc };
}

/**
 * The files of a folder (not its state folders) by name with the sha256 of their bytes, to compare
 * two recoveries byte for byte (a deep equality of multi-MB buffers would cost minutes).
 */
export async function folderBytes(dir: string): Promise<Record<string, string>> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: Record<string, string> = {};
  for (const entry of entries.filter((e) => e.isFile()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    files[entry.name] = createHash("sha256").update(await readFile(join(dir, entry.name))).digest("hex");
  }
  return files;
}
