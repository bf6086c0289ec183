import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Recipe } from "@model-recover/pipeline";

const REPO = "bench/release-enc";

/**
 * The bench release served by the test Hub (hf-hub's, in its own process so that the CLI under test
 * has the cores it would have against the real Hub), and a copy of its recipe that names the repo:
 * `recover --from-hub` against the same release as `recover --enc`, in the same run.
 */
export async function serveBenchRelease(root: string, dir: string, encDir: string, recipe: Recipe): Promise<{ endpoint: string; recipePath: string; close: () => void }> {
  const recipePath = join(dir, "bench-from-hub.recipe.json");
  await writeFile(recipePath, `${JSON.stringify({ ...recipe, hub: { repo: REPO } }, null, 2)}\n`);
  const server = spawn(process.execPath, ["--conditions=source", "--import", "tsx", join(root, "scripts/bench/hub-serve.ts"), encDir, REPO], { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
  const endpoint = await new Promise<string>((resolve) => server.stdout.once("data", (data: Buffer) => resolve(data.toString().trim())));
  return { endpoint, recipePath, close: () => server.stdin.end() };
}
