import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { python, pythonOk, SCRIPTS } from "../test-support/torch.js";
import { applyDelta, type ApplyDeltaOptions } from "./apply-delta.js";

// Stanford Alpaca's weight_diff.py (WizardLM's copy too) on a tiny LLaMA-shaped base and a float32
// diff of 32001 tokens, both made by torch, against the script's math done by torch. float32 output:
// 9 MB shards split the 17 MB model in two.
const OUT_SHARD_BYTES = 9_000_000;
const BLOCK_BYTES = 64 * 1024;

let dir: string;
let referenceSum: number;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weight-diff-"));
  await pythonOk(SCRIPTS.deltaReference, ["pair", dir, "31", "32001", "5000000", "4200000"]);
  await pythonOk(SCRIPTS.deltaReference, ["rewrite", join(dir, "delta"), join(dir, "diff"), "-", "float32"]);
  await pythonOk(SCRIPTS.deltaReference, ["flip", join(dir, "diff"), join(dir, "diff-flipped"), "model.layers.0.self_attn.q_proj.weight"]);
  referenceSum = Number(await pythonOk(SCRIPTS.deltaReference, ["apply", join(dir, "base"), join(dir, "diff"), join(dir, "reference"), String(OUT_SHARD_BYTES), "weight-diff"]));
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const apply = (options: Omit<ApplyDeltaOptions, "maxShardBytes" | "blockBytes" | "math">) => applyDelta({ maxShardBytes: OUT_SHARD_BYTES, blockBytes: BLOCK_BYTES, math: "weight-diff", ...options });

describe("weight-diff (Alpaca's weight_diff.py recover) against its math in torch 1.13.1", () => {
  // The [PAD] rows are torch's mean(dim=0), whose summation order torch does not specify: ours follows
  // its cascade sum and matches bit for bit here, but only within 1 ulp is asserted of those rows.
  it("writes float32 shards equal to torch's bit for bit, the [PAD] rows (a mean) within 1 ulp", async () => {
    const out = join(dir, "out");
    const summary = await apply({ base: join(dir, "base"), delta: join(dir, "diff"), outDir: out, paramSum: { expected: referenceSum, tolerance: 1e-2 } });
    expect(summary.ok).toBe(true);
    expect((await readdir(out)).filter((n) => n.startsWith("pytorch_model")).sort()).toEqual((await readdir(join(dir, "reference"))).sort());
    const run = await python(SCRIPTS.deltaReference, ["compare-pad", out, join(dir, "reference")]);
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toMatch(/^ok: 23 tensors bit-identical but the \[PAD\] rows, which are within [01] ulp$/);
  });

  it("passes the sum check of a model whose sum is known, with the sum it found in the summary", async () => {
    const summary = await apply({ base: join(dir, "base"), delta: join(dir, "diff"), outDir: join(dir, "out-sum"), paramSum: { expected: referenceSum, tolerance: 1e-2 } });
    expect(summary.paramSum).toMatchObject({ expected: referenceSum, tolerance: 1e-2, ok: true });
    expect(Math.abs(summary.paramSum!.got! - referenceSum)).toBeLessThan(1e-2);
  });

  it("fails the sum check when one weight of the diff is flipped in sign, and says so", async () => {
    const summary = await apply({ base: join(dir, "base"), delta: join(dir, "diff-flipped"), outDir: join(dir, "out-flipped"), paramSum: { expected: referenceSum, tolerance: 1e-2 } });
    expect(summary.ok).toBe(false);
    expect(summary.paramSum?.ok).toBe(false);
    expect(Math.abs(summary.paramSum!.got! - referenceSum)).toBeGreaterThan(1e-2);
    // One model, and the wrong one: nothing of it is left under a final name, nor kept for a next run.
    expect(summary.files.every((f) => f.status === "failed" && f.code === "VERIFY_FAILED")).toBe(true);
    expect((await readdir(join(dir, "out-flipped"))).filter((n) => !n.startsWith("."))).toEqual([]);
    const again = await apply({ base: join(dir, "base"), delta: join(dir, "diff-flipped"), outDir: join(dir, "out-flipped"), paramSum: { expected: referenceSum, tolerance: 1e-2 } });
    expect(again.paramSum?.ok).toBe(false);
  });

  it("checks the whole sum on a run that keeps shards an earlier run made, by the share recorded with each", async () => {
    const out = join(dir, "out-kept");
    const first = await apply({ base: join(dir, "base"), delta: join(dir, "diff"), outDir: out, paramSum: { expected: referenceSum, tolerance: 1e-2 } });
    expect(first.ok).toBe(true);
    const kept = await apply({ base: join(dir, "base"), delta: join(dir, "diff"), outDir: out, paramSum: { expected: referenceSum, tolerance: 1e-2 } });
    expect(kept.files.every((f) => f.status === "verified" && f.reused)).toBe(true);
    expect(kept.paramSum?.ok).toBe(true);
    expect(Math.abs(kept.paramSum!.got! - first.paramSum!.got!)).toBeLessThan(1e-6);
    // The same kept shards against another published sum: refused, and taken off the disk.
    const other = await apply({ base: join(dir, "base"), delta: join(dir, "diff"), outDir: out, paramSum: { expected: referenceSum + 1, tolerance: 1e-2 } });
    expect(other.ok).toBe(false);
    expect(other.paramSum?.ok).toBe(false);
    expect((await readdir(out)).filter((n) => !n.startsWith("."))).toEqual([]);
  });

  it("refuses a float16 diff and a diff without the [PAD] token, before any weight is read", async () => {
    await expect(apply({ base: join(dir, "base"), delta: join(dir, "delta"), outDir: join(dir, "out-f16") })).rejects.toMatchObject({
      code: "DELTA_WRONG",
      message: expect.stringMatching(/model\.embed_tokens\.weight is F16, expected F32: the diff of weight_diff\.py is float32/),
    });
    await expect(apply({ base: join(dir, "base"), delta: join(dir, "base"), outDir: join(dir, "out-32000") })).rejects.toMatchObject({ code: "DELTA_VOCAB", message: expect.stringMatching(/32001 vs 32000/) });
    expect(await readdir(join(dir, "out-f16")).catch(() => "absent")).toBe("absent");
  });
});
