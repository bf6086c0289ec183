import { createHash } from "node:crypto";
import { copyFile, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pythonOk, SCRIPTS } from "../test-support/torch.js";
import { applyDelta } from "./apply-delta.js";
import { makeDelta } from "./make-delta.js";

// The publish side: a tuned model made by torch (a tiny base plus a delta, FastChat's math), packed
// against its base, then recovered both by apply-delta and by FastChat's math in torch.
const SHARD_BYTES = 4_500_000;
const sha256 = async (path: string) => createHash("sha256").update(await readFile(path)).digest("hex");
const weights = async (dir: string) => (await readdir(dir)).filter((n) => n.startsWith("pytorch_model")).sort();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "make-delta-"));
  await pythonOk(SCRIPTS.deltaReference, ["pair", dir, "41", "32000", "5000000", "4200000"]);
  await pythonOk(SCRIPTS.deltaReference, ["apply", join(dir, "base"), join(dir, "delta"), join(dir, "tuned"), String(SHARD_BYTES), "add-delta"]);
  // The tuned folder's config and tokenizer, as a fine-tuning run saves them.
  for (const name of ["config.json", "special_tokens_map.json", "tokenizer.model", "tokenizer_config.json"]) await copyFile(join(dir, "delta", name), join(dir, "tuned", name));
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("makeDelta (pack --format add-delta): tuned − base, round-trip checked", () => {
  it("makes a delta that apply-delta and FastChat's math in torch both turn back into the tuned model, byte for byte", async () => {
    const out = join(dir, "made");
    const summary = await makeDelta({ tuned: join(dir, "tuned"), base: join(dir, "base"), outDir: out, maxShardBytes: SHARD_BYTES, blockBytes: 64 * 1024 });
    expect(summary.ok).toBe(true);
    // embed_tokens and lm_head 2 × 32000 × 64, per layer 4 × 64² + 3 × 256 × 64 + 2 × 64 + 8 (inv_freq), the norm 64.
    expect(summary.roundTrip.elements).toBe(2 * 32000 * 64 + 2 * (4 * 64 * 64 + 3 * 256 * 64 + 2 * 64 + 8) + 64);
    expect(summary.roundTrip.inexact).toBe(0);
    // Two elements FastChat's make_delta (tuned ⊖ base) would not bring back: a sum that rounds past a
    // power of two, and -0 + -0 (only -0 gives -0 back); their deltas are the neighbours that do.
    expect(summary.roundTrip.nudged).toBe(2);
    const recovered = join(dir, "recovered");
    expect((await applyDelta({ base: join(dir, "base"), delta: out, outDir: recovered, math: "add-delta", maxShardBytes: SHARD_BYTES })).ok).toBe(true);
    const byTorch = join(dir, "recovered-by-torch");
    await pythonOk(SCRIPTS.deltaReference, ["apply", join(dir, "base"), out, byTorch, String(SHARD_BYTES), "add-delta"]);
    expect(await weights(recovered)).toEqual(await weights(join(dir, "tuned")));
    for (const name of await weights(join(dir, "tuned"))) {
      expect(await sha256(join(recovered, name)), name).toBe(await sha256(join(dir, "tuned", name)));
      expect(await sha256(join(byTorch, name)), name).toBe(await sha256(join(dir, "tuned", name)));
    }
  });

  it("refuses a tuned model of another shape than the base before writing anything", async () => {
    await expect(makeDelta({ tuned: join(dir, "tuned"), base: join(dir, "missing"), outDir: join(dir, "made-2") })).rejects.toMatchObject({ code: "BASE_MISSING" });
    expect(await readdir(join(dir, "made-2")).catch(() => "absent")).toBe("absent");
  });
});
