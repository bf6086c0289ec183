import { lstat, readdir, realpath } from "node:fs/promises";
import { dirname, join } from "node:path";
import { overlapOf } from "@model-recover/safe-fs";
import { InputError } from "../errors.js";
import type { LoadedRecipe } from "../recipe/types.js";
import { eachWithLimit } from "./each-with-limit.js";
import { refuseLinksToInputs } from "./out-links.js";
import type { FileTask } from "./plan.js";

const RELATION = { same: "is the same as", inside: "is inside", contains: "contains" } as const;

export interface InputPlace {
  path: string;
  what: string;
}

/**
 * An output that is, lies in or holds an input would have the tool delete or overwrite the user's
 * own files as "not verified" (a base folder recovered into, a release packed over its model), so
 * any overlap, by real path after symlinks, is refused before anything is touched; so is a link in
 * the output that leads to an input.
 */
export async function refuseOverlaps(out: string, inputs: InputPlace[], outWhat = "output folder (--out)"): Promise<void> {
  for (const input of inputs) {
    const relation = await overlapOf(out, input.path);
    if (relation) {
      throw new InputError("OUT_OVERLAPS", `${out}: the ${outWhat} ${RELATION[relation]} the ${input.what} ${input.path}; pass an output apart from every input, so that nothing of yours is overwritten or removed`);
    }
  }
  await refuseLinksToInputs(out, inputs, outWhat);
}

/**
 * Where a recovery's inputs are: the release folder, the base, and the real folder of every download
 * or base file that is a link (a Hugging Face cache links snapshots into blobs/).
 */
export async function inputPlaces(loaded: LoadedRecipe, tasks: FileTask[], encDir: string | undefined, base: string): Promise<InputPlace[]> {
  const files = tasks.flatMap((task) => [
    ...(task.remote ? [] : [{ path: task.source, what: `folder that ${task.sourceName} in the release folder (--enc) links into` }]),
    ...(loaded.pipeline.key.material === "base-folder" ? [{ path: join(base, task.entry.name), what: `folder that ${task.entry.name} in the base (--base) links into` }] : []),
  ]);
  const release = encDir === undefined ? [] : [{ path: encDir, what: "release folder (--enc)" }];
  return [...release, { path: base, what: "base (--base)" }, ...(await linkedFolders(files))];
}

/**
 * The real folder of each of `files` that is a link, each folder once: an output folder holding a
 * linked input would otherwise remove or overwrite it as one of its own files.
 */
export async function linkedFolders(files: InputPlace[]): Promise<InputPlace[]> {
  const folders = new Map<string, InputPlace>();
  await eachWithLimit(files, 16, async ({ path, what }) => {
    if (!(await lstat(path).catch(() => undefined))?.isSymbolicLink()) return;
    const folder = await realpath(path).then(dirname, () => undefined);
    if (folder !== undefined && !folders.has(folder)) folders.set(folder, { path: folder, what });
  });
  return [...folders.values()];
}

/**
 * The real folder of each entry of the input folder `dir` that is a link: an output folder holding
 * one would replace it as one of its own files (a delta's tokenizer.model, an original's params.json).
 */
export async function linkedEntryFolders(dir: string, what: string): Promise<InputPlace[]> {
  const names = await readdir(dir).catch(() => []);
  return linkedFolders(names.map((name) => ({ path: join(dir, name), what: `folder that ${name} in the ${what} links into` })));
}
