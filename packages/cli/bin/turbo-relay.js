#!/usr/bin/env node
// The body of turbo's `recover` task, as `pnpm recover` runs it (src/turbo/pnpm-recover.ts). The
// recovery itself runs in the process that started turbo, so that a first run costs what a direct
// one does; this task only receives the result over a private local socket and writes the receipt
// turbo caches, then exits with the recovery's exit code (turbo caches successes only).
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { connect } from "node:net";

const relay = process.env.MODEL_RECOVER_RELAY;
const digest = process.env.MODEL_RECOVER_INPUTS_DIGEST ?? "";
if (!relay || !/^[0-9a-f]{64}$/.test(digest)) {
  process.stderr.write("turbo-relay: this task is run by `pnpm recover <recipe>`, not by hand\n");
  process.exit(2);
}

const socket = connect(relay);
socket.setEncoding("utf8");
let text = "";
socket.on("data", (data) => {
  text += data;
  if (!text.endsWith("\n")) return;
  const result = JSON.parse(text);
  mkdirSync(".receipts", { recursive: true });
  const file = `.receipts/${digest}.json`;
  writeFileSync(`${file}.tmp`, `${JSON.stringify(result.receipt, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
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
