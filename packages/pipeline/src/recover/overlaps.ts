import { overlapOf } from "@model-recover/safe-fs";
import { InputError } from "../errors.js";

const RELATION = { same: "is the same as", inside: "is inside", contains: "contains" } as const;

/**
 * An output that is, lies in or holds an input would have the tool delete or overwrite the user's
 * own files as "not verified" (a base folder recovered into, a release packed over its model), so
 * any overlap, by real path after symlinks, is refused before anything is touched.
 */
export async function refuseOverlaps(out: string, inputs: { path: string; what: string }[], outWhat = "output folder (--out)"): Promise<void> {
  for (const input of inputs) {
    const relation = await overlapOf(out, input.path);
    if (relation) {
      throw new InputError("OUT_OVERLAPS", `${out}: the ${outWhat} ${RELATION[relation]} the ${input.what} ${input.path}; pass an output apart from every input, so that nothing of yours is overwritten or removed`);
    }
  }
}
