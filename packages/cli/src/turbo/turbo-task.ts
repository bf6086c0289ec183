import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export type Decision = "hit" | "miss" | "unavailable";

export interface TurboRun {
  /** Whether turbo found the recovery in its cache (it then restores the receipt and runs nothing). */
  decision: Promise<Decision>;
  /** turbo's exit code and everything it printed. */
  exited: Promise<{ code: number | null; output: string }>;
}

/**
 * Run turbo's `recover` task of this package for a recovery identified by `digest`. turbo hashes the
 * digest (an env var of the task), looks the task up in its cache, and either restores the receipt
 * (a hit) or runs the relay (a miss), which connects to `relay`. Its own output is kept, not shown,
 * unless `echo` is set: what the user reads comes from model-recover alone.
 */
export function runTurboTask(root: string, digest: string, relay: { path: string; connected: Promise<void> }, echo?: NodeJS.WritableStream): TurboRun {
  const turbo = join(root, "node_modules", ".bin", process.platform === "win32" ? "turbo.cmd" : "turbo");
  const args = ["run", "recover", "--filter=@model-recover/cli", "--output-logs=hash-only", "--log-prefix=none", "--ui=stream"];
  const env = { ...process.env, MODEL_RECOVER_INPUTS_DIGEST: digest, MODEL_RECOVER_RELAY: relay.path, TURBO_TELEMETRY_DISABLED: "1", TURBO_NO_UPDATE_NOTIFIER: "1", DO_NOT_TRACK: "1" };
  let output = "";
  let sawHit = false;
  // turbo says "cache miss, executing <hash>" as soon as it has decided, well before the task it then
  // starts (pnpm, node, the relay) connects: the recovery waits for the decision, not for the relay.
  let announceMiss: () => void = () => {};
  const sawMiss = new Promise<void>((resolve) => (announceMiss = resolve));
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => {
    if (!existsSync(turbo)) return resolve({ code: null, output: `${turbo}: not found (run pnpm install)` });
    const child = spawn(turbo, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], shell: process.platform === "win32" });
    const collect = (data: Buffer) => {
      const text = data.toString();
      output += text;
      echo?.write(text);
      if (/cache hit/.test(output)) sawHit = true;
      if (/cache miss/.test(output)) announceMiss();
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", (error) => resolve({ code: null, output: `${output}${error.message}\n` }));
    child.on("close", (code) => resolve({ code, output }));
  });
  const receipt = join(root, "packages", "cli", ".receipts", `${digest}.json`);
  const decision = Promise.race([
    relay.connected.then((): Decision => "miss"),
    sawMiss.then((): Decision => "miss"),
    exited.then(({ code }): Decision => (code === 0 && (sawHit || existsSync(receipt)) ? "hit" : "unavailable")),
  ]);
  return { decision, exited };
}
