import { readdir, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { type Overlap, overlapOf } from "@model-recover/safe-fs";
import { InputError } from "../errors.js";
import type { InputPlace } from "./overlaps.js";

const TARGET_RELATION: Record<Overlap, string> = { same: "is", inside: "lies in", contains: "holds" };

/**
 * A link inside the output folder that leads to an input (`out/pytorch_model.bin -> base/…`, a folder
 * of links to the originals) is refused before anything is touched: outputs are published by rename,
 * which replaces a link and never writes through it, but a tool that reads or resumes by name, or a
 * user who later edits the output, would reach the input through it. Links that lead elsewhere, or
 * nowhere, are left to the command (a planted link is replaced, never followed). Linked folders are
 * not descended into: what they lead to is compared whole.
 */
export async function refuseLinksToInputs(out: string, inputs: readonly InputPlace[], outWhat: string): Promise<void> {
  if (!(await stat(out).catch(() => undefined))?.isDirectory()) return;
  for await (const link of linksUnder(out)) {
    const target = await realpath(link).catch(() => undefined);
    if (target === undefined) continue;
    for (const input of inputs) {
      const relation = await overlapOf(target, input.path);
      if (!relation) continue;
      throw new InputError("OUT_OVERLAPS", `${link}: is a link in the ${outWhat} to ${target}, which ${TARGET_RELATION[relation]} the ${input.what} ${input.path}; remove the link or pass an output apart from every input, so that nothing of yours is overwritten or removed`);
    }
  }
}

/** Every symlink under `dir`, at any depth, without following any. */
async function* linksUnder(dir: string): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) yield path;
    else if (entry.isDirectory()) yield* linksUnder(path);
  }
}
