import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export type Decision = "hit" | "miss" | "unavailable";

/** One of the two tasks: `recover-base` (a chained recipe's base step, digest "none" without one) and `recover`. */
export interface TaskInput {
  digest: string;
  relay: { path: string; connected: Promise<void> };
}

export interface TurboRun {
  /** Whether turbo found each step in its cache (it then restores the receipt and runs nothing). */
  decisions: { base: Promise<Decision>; main: Promise<Decision> };
  /** turbo's exit code and everything it printed. */
  exited: Promise<{ code: number | null; output: string }>;
}

const TASKS = { base: { name: "recover-base", receipts: ".base-receipts", digestEnv: "MODEL_RECOVER_BASE_DIGEST", relayEnv: "MODEL_RECOVER_BASE_RELAY" }, main: { name: "recover", receipts: ".receipts", digestEnv: "MODEL_RECOVER_INPUTS_DIGEST", relayEnv: "MODEL_RECOVER_RELAY" } } as const;

/**
 * Run turbo's `recover` task of this package, which depends on its `recover-base` task, for a
 * recovery identified by two digests. turbo hashes each digest (an env var of its task), looks the
 * task up in its cache, and either restores its receipt (a hit) or runs the relay (a miss), which
 * connects to that task's relay. Its own output is kept, not shown, unless `echo` is set: what the
 * user reads comes from model-recover alone.
 */
export function runTurboTask(root: string, tasks: { base: TaskInput; main: TaskInput }, echo?: NodeJS.WritableStream): TurboRun {
  const turbo = join(root, "node_modules", ".bin", process.platform === "win32" ? "turbo.cmd" : "turbo");
  const args = ["run", "recover", "--filter=@model-recover/cli", "--output-logs=hash-only", "--log-prefix=task", "--ui=stream"];
  const env: NodeJS.ProcessEnv = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", TURBO_NO_UPDATE_NOTIFIER: "1", DO_NOT_TRACK: "1" };
  for (const key of ["base", "main"] as const) {
    env[TASKS[key].digestEnv] = tasks[key].digest;
    env[TASKS[key].relayEnv] = tasks[key].relay.path;
  }
  let output = "";
  const said = { base: announcement("base"), main: announcement("main") };
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => {
    if (!existsSync(turbo)) return resolve({ code: null, output: `${turbo}: not found (run pnpm install)` });
    const child = spawn(turbo, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], shell: process.platform === "win32" });
    const collect = (data: Buffer) => {
      const text = data.toString();
      output += text;
      echo?.write(text);
      for (const key of ["base", "main"] as const) said[key].check(output);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", (error) => resolve({ code: null, output: `${output}${error.message}\n` }));
    child.on("close", (code) => resolve({ code, output }));
  });
  const decide = (key: "base" | "main"): Promise<Decision> => {
    const receipt = join(root, "packages", "cli", TASKS[key].receipts, `${tasks[key].digest}.json`);
    return Promise.race([
      tasks[key].relay.connected.then((): Decision => "miss"),
      said[key].decided,
      exited.then(({ code }): Decision => (code === 0 && existsSync(receipt) ? "hit" : "unavailable")),
    ]);
  };
  return { decisions: { base: decide("base"), main: decide("main") }, exited };
}

/**
 * turbo says "<package>:<task>: cache miss, executing <hash>" (or "cache hit") as soon as it has
 * decided, well before the task it then starts (pnpm, node, the relay) connects, and before the
 * tasks after it run: the work waits for the decision, not for the relay or for turbo's exit (a base
 * step's hit is followed by the recovery's task, which waits for this very process).
 */
function announcement(key: "base" | "main") {
  const line = new RegExp(`@model-recover/cli:${TASKS[key].name}: cache (hit|miss)`);
  let announce: (decision: Decision) => void = () => {};
  const decided = new Promise<Decision>((resolve) => (announce = resolve));
  return {
    decided,
    check(output: string) {
      const found = line.exec(output)?.[1];
      if (found) announce(found as Decision);
    },
  };
}
