#!/usr/bin/env node
// The body of turbo's `recover` and `recover-base` tasks, as `pnpm recover` runs them
// (src/turbo/pnpm-recover.ts). The work itself runs in the process that started turbo, so that a
// first run costs what a direct one does; a task only receives the result over a private local
// socket and writes the receipt turbo caches, then exits with the work's exit code (turbo caches
// successes only). `recover-base` is the step of a chained recipe's base recipe (the conversion
// `recover` depends on); for a recipe with no such step its digest is "none" and it does nothing.
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";

const base = process.argv[2] === "base";
const relay = process.env[base ? "MODEL_RECOVER_BASE_RELAY" : "MODEL_RECOVER_RELAY"];
const digest = process.env[base ? "MODEL_RECOVER_BASE_DIGEST" : "MODEL_RECOVER_INPUTS_DIGEST"] ?? "";
const folder = base ? ".base-receipts" : ".receipts";

function writeReceipt(receipt) {
  // turbo caches the whole folder as this task's output: only this digest's receipt goes in it
  // (another run's restored one is lost at worst, and that run then does its work again).
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  const file = `${folder}/${digest}.json`;
  writeFileSync(`${file}.tmp`, `${JSON.stringify(receipt, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

if (base && digest === "none") {
  writeReceipt({ ok: true, step: "none" });
} else if (!relay || !/^[0-9a-f]{64}$/.test(digest)) {
  process.stderr.write("turbo-relay: this task is run by `pnpm recover <recipe>`, not by hand\n");
  process.exitCode = 2;
} else {
  const socket = connect(relay);
  socket.setEncoding("utf8");
  let text = "";
  socket.on("data", (data) => {
    text += data;
    if (!text.endsWith("\n")) return;
    const result = JSON.parse(text);
    writeReceipt(result.receipt);
    process.exitCode = result.exitCode;
    socket.end("written\n");
  });
  socket.on("error", (error) => {
    process.stderr.write(`turbo-relay: ${error.message}\n`);
    process.exitCode = 1;
  });
  socket.on("close", () => {
    if (process.exitCode === undefined) process.exitCode = 1;
  });
}
