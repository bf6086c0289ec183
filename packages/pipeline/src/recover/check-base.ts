import type { LoadedRecipe } from "../recipe/types.js";
import { resolveBasePath } from "./find-base.js";
import { KeyProvider } from "./keys.js";
import type { RemoteRelease } from "./payload-source.js";
import { planRecovery } from "./plan.js";
import { runPreflight } from "./preflight.js";

/**
 * The preflight of a recovery (release files, the base by decrypting the smallest file, base files)
 * on a release still on the Hub: `recover --from-hub --keep-enc` runs it before downloading gigabytes
 * for a base that cannot open them. Returns the file the key was proven on, if the pipeline has one.
 */
export async function checkBaseForRelease(loaded: LoadedRecipe, remote: RemoteRelease, basePath: string): Promise<string | undefined> {
  const plan = await planRecovery(loaded, remote.where, remote);
  const keys = await KeyProvider.open(loaded, await resolveBasePath(loaded, basePath));
  try {
    return (await runPreflight(loaded, plan.tasks, keys)).probe;
  } finally {
    await keys.close();
  }
}
