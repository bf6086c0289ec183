import { createHash } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubClient } from "@model-recover/hf-hub";
import { type HubServer, startHubServer } from "@model-recover/hf-hub/test-server";
import { xorshift32Bytes } from "@model-recover/xor-core";
import { InputError } from "../errors.js";
import { openHubRelease } from "../hub/hub-release.js";
import { loadRecipe } from "../recipe/load-recipe.js";
import { packRelease } from "../pack/pack.js";
import type { LoadedRecipe } from "../recipe/types.js";
import { DOWNLOAD_STATE_DIR, downloadRelease } from "./download-release.js";

const REPO = "tests/download";
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("downloadRelease (a release packed by pack, served by the test Hub on 127.0.0.1)", () => {
  let dir: string;
  let server: HubServer;
  let loaded: LoadedRecipe;
  let hub: HubClient;
  let bigEnc: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-download-unit-"));
    const model = join(dir, "model");
    await mkdir(model);
    await writeFile(join(model, "config.json"), '{"model_type": "llama"}\n');
    await writeFile(join(model, "pytorch_model.bin"), xorshift32Bytes(3, 3_000_000));
    await writeFile(join(dir, "base.pth"), xorshift32Bytes(4, 2_000_000));
    await packRelease({ modelDir: model, basePath: join(dir, "base.pth"), outDir: join(dir, "enc"), name: "dl", title: "dl", recipePath: join(dir, "dl.json"), clear: [] });
    loaded = (await loadRecipe(join(dir, "dl.json"), { cwd: dir })) as LoadedRecipe;
    server = await startHubServer({ repos: { [REPO]: { dir: join(dir, "enc") } }, lfsMinBytes: 1 << 20 });
    hub = new HubClient({ endpoint: server.endpoint, retryDelayMs: 1 });
    bigEnc = (await readdir(join(dir, "enc"))).find((name) => name.startsWith("pytorch_model.bin."))!;
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const download = async (toDir: string) => downloadRelease({ loaded, release: await openHubRelease(hub, { repo: REPO }), toDir });

  it("does not trust a file already under a release name: a wrong one is downloaded again and replaced", async () => {
    const to = join(dir, "to-wrong");
    await mkdir(to);
    const original = await readFile(join(dir, "enc", bigEnc));
    const wrong = Buffer.from(original);
    wrong[1000]! ^= 1;
    await writeFile(join(to, bigEnc), wrong);
    const summary = await download(to);
    expect(summary.files.find((f) => f.name === bigEnc)?.status).toBe("downloaded");
    expect(sha256(await readFile(join(to, bigEnc)))).toBe(sha256(original));
  });

  it("starts over a partial download left from another version of the file (its record names other content)", async () => {
    const to = join(dir, "to-other-version");
    await mkdir(join(to, DOWNLOAD_STATE_DIR), { recursive: true });
    const id = createHash("sha256").update(bigEnc).digest("hex").slice(0, 32);
    await writeFile(join(to, DOWNLOAD_STATE_DIR, `${id}.part`), Buffer.alloc(500_000, 7));
    await writeFile(join(to, DOWNLOAD_STATE_DIR, `${id}.json`), JSON.stringify({ name: bigEnc, identity: "another version" }));
    await download(to);
    expect(sha256(await readFile(join(to, bigEnc)))).toBe(sha256(await readFile(join(dir, "enc", bigEnc))));
    expect(await readdir(join(to, DOWNLOAD_STATE_DIR))).toEqual([]);
  });

  it("refuses a state folder that is a symlink, and writes nothing where it points", async () => {
    const to = join(dir, "to-planted");
    const elsewhere = join(dir, "elsewhere");
    await mkdir(to);
    await mkdir(elsewhere);
    await symlink(elsewhere, join(to, DOWNLOAD_STATE_DIR));
    const failure = await download(to).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InputError);
    expect((failure as Error).message).toMatch(/\.model-recover-download: is not a folder \(a symlink\?\)/);
    expect(await readdir(elsewhere)).toEqual([]);
    expect((await lstat(join(to, DOWNLOAD_STATE_DIR))).isSymbolicLink()).toBe(true);
  });
});
