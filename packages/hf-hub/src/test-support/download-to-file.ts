// node --conditions=source --import tsx download-to-file.ts <repo> <revision> <path> <out>
// Appends a Hub file to <out>, resuming from the length <out> already has: the smallest program
// that resumes as the engine will (its durable point being the bytes on disk). HF_ENDPOINT and
// HF_TOKEN come from the environment. Run by the tests that kill a download mid-file.
import { closeSync, fstatSync, openSync, writeSync } from "node:fs";
import { HubClient } from "../hub-client.js";

const [repo, revision, path, out] = process.argv.slice(2) as [string, string, string, string];
const fd = openSync(out, "a");
const from = fstatSync(fd).size;
const hub = await HubClient.fromEnvironment({ retryDelayMs: 10 });
for await (const chunk of hub.openFile(repo, revision, path, { from })) writeSync(fd, chunk);
closeSync(fd);
