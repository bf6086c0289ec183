import { lstat, realpath } from "node:fs/promises";
import { dirname, join } from "node:path";
import { overlapOf } from "@model-recover/safe-fs";
import { InputError } from "../errors.js";
import type { LoadedRecipe } from "../recipe/types.js";
import { eachWithLimit } from "./each-with-limit.js";
import type { FileTask } from "./plan.js";

const RELATION = { same: "is the same as", inside: "is inside", contains: "contains" } as const;

export interface InputPlace {
  path: string;
  what: string;
}

/**
 * An output that is, lies in or holds an input would have the tool delete or overwrite the user's
 * own files as "not verified" (a base folder recovered into, a release packed over its model), so
 * any overlap, by real path after symlinks, is refused before anything is touched.
 */
export async function refuseOverlaps(out: string, inputs: InputPlace[], outWhat = "output folder (--out)"): Promise<void> {
  for (const input of inputs) {
    const relation = await overlapOf(out, input.path);
    if (relation) {
      throw new InputError("OUT_OVERLAPS", `${out}: the ${outWhat} ${RELATION[relation]} the ${input.what} ${input.path}; pass an output apart from every input, so that nothing of yours is overwritten or removed`);
    }
  }
}

/**
 * Where a recovery's inputs are: the release folder, the base, and the real folder of every download
 * or base file that is a link (a Hugging Face cache links snapshots into blobs/), each folder once.
 * An output folder holding a linked input would otherwise remove it as an output that did not verify.
 */
export async function inputPlaces(loaded: LoadedRecipe, tasks: FileTask[], encDir: string, base: string): Promise<InputPlace[]> {
  const places: InputPlace[] = [
    { path: encDir, what: "release folder (--enc)" },
    { path: base, what: "base (--base)" },
  ];
  const seen = new Set<string>();
  const addIfLinked = async (file: string, what: string) => {
    if (!(await lstat(file).catch(() => undefined))?.isSymbolicLink()) return;
    const folder = await realpath(file).then(dirname, () => undefined);
    if (folder === undefined || seen.has(folder)) return;
    seen.add(folder);
    places.push({ path: folder, what });
  };
  await eachWithLimit(tasks, 16, async (task) => {
    await addIfLinked(task.source, `folder that ${task.sourceName} in the release folder (--enc) links into`);
    if (loaded.pipeline.key.material === "base-folder") await addIfLinked(join(base, task.entry.name), `folder that ${task.entry.name} in the base (--base) links into`);
  });
  return places;
}
