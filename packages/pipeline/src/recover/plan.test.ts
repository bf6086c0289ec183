import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveRecipe, validateRecipe, xorRecipe } from "../recipe/load-recipe.js";
import { planRecovery } from "./plan.js";

/** The most files a recipe may list (manifests/recipe.schema.json, /files maxItems). */
const FILES = 10_000;

describe("planRecovery on the largest release a recipe may describe (issue 10, point 10)", () => {
  let dir: string;
  const shaOf = (i: number) => createHash("sha256").update(`payload ${i}`).digest("hex");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "plan-"));
    // Spec §1: `<name>.<sha256>.enc`, a 32-byte header holding that sha256, then the payload.
    for (let i = 0; i < FILES; i++) {
      const sha256 = shaOf(i);
      await writeFile(join(dir, `shard-${i}.bin.${sha256}.enc`), Buffer.concat([Buffer.from(sha256, "hex"), Buffer.from([i & 0xff])]));
    }
    await writeFile(join(dir, ".gitattributes"), "*.enc filter=lfs\n");
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  // Matching each name to its .enc once per name, as planning did, is 10^8 name parses here (minutes);
  // the timeout is a guard against that, not a measurement (the README gives the measured figure).
  it("matches every one of 10,000 names to its .enc, whether the recipe gives the sha256 or the release's names do", async () => {
    const files = Array.from({ length: FILES }, (_, i) => ({ name: `shard-${i}.bin`, sha256: i % 2 === 0 ? shaOf(i) : null, md5: null, size: 1 }));
    const recipe = validateRecipe("big.json", { name: "big", title: "ten thousand files", pipeline: "xor-enc", base: "demo", files });
    const plan = await planRecovery(xorRecipe(await resolveRecipe(recipe, { file: "big.json", root: dir })), dir);
    expect(plan.tasks).toHaveLength(FILES);
    expect(plan.tasks.every((task, i) => task.sha256 === shaOf(i) && task.sourceName === `shard-${i}.bin.${shaOf(i)}.enc` && task.outputBytes === 1)).toBe(true);
    expect(plan.extras).toEqual([".gitattributes"]);
    expect(plan.totalOutputBytes).toBe(FILES);
  }, 20_000);
});
