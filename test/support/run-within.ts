import { startModelRecover, type CliRun } from "./cli.js";

/** The real CLI, killed if it has not finished within `ms`: a hang is a failure, never a stuck test. */
export async function runWithin(args: string[], ms = 30_000, env: NodeJS.ProcessEnv = {}): Promise<CliRun & { hung: boolean }> {
  const { child, done } = startModelRecover(args, { env });
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    child.kill("SIGKILL");
  }, ms);
  const run = await done;
  clearTimeout(timer);
  return { ...run, hung };
}
