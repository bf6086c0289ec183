import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * The output folder's state layout (README, "Interruptions and crashes"): everything but the outputs
 * lives in `<out>/.model-recover/`, and what is kept about one output is named by a hash of its name.
 */
export const stateDir = (out: string) => join(out, ".model-recover");
export const partialDir = (out: string) => join(out, ".model-recover", "partial");
export const stateId = (name: string) => createHash("sha256").update(name).digest("hex").slice(0, 32);

/** Temporary outputs (`<id>.part`) an output folder holds now. */
export async function partialsIn(out: string): Promise<string[]> {
  return (await readdir(partialDir(out)).catch(() => [])).filter((n) => n.endsWith(".part"));
}
