// Run by hand (about 9 GB of scratch disk, 4.5 GB of memory for the Python side, a few minutes):
//   node --import tsx packages/torch-format/src/save/test-support/zip64-compare.ts [scratch dir]
// torch.save writes a state dict with a 4200 MiB record (zip64 sizes) followed by one starting beyond
// 4 GiB (zip64 offset); writeTorchSave writes the same state dict from the same bytes, streamed one
// 2 MiB block at a time; the two files' sha256 must be equal. Prints timings and this process's peak RSS.
import { execFileSync } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { contiguousStateDict } from "../state-dict.js";
import { writeTorchSave } from "../torch-save.js";
import { PYTHON } from "./python.js";

const dir = process.argv[2] ?? join(tmpdir(), "torch-save-zip64");
await mkdir(join(dir, "ours"), { recursive: true });
const log = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

let started = performance.now();
const script = new URL("./zip64_reference.py", import.meta.url).pathname;
const [before, after] = execFileSync(PYTHON, [script, dir], { encoding: "utf8" }).trim().split(" ") as [string, string];
log(`torch.save: ${seconds(started)} s`);

const block = await readFile(join(dir, "block.f16"));
const smallTensors = [Buffer.from(before, "hex"), undefined, Buffer.from(after, "hex")];
const spec = contiguousStateDict([
  { name: "before", dtype: "F16", shape: [3] },
  { name: "huge", dtype: "F16", shape: [2100, 1 << 20] },
  { name: "after", dtype: "F32", shape: [5] },
]);
started = performance.now();
const layout = await writeTorchSave(join(dir, "ours", "huge.bin"), spec, async function* (index) {
  const small = smallTensors[index];
  if (small !== undefined) return yield small;
  for (let i = 0; i < 2100; i++) yield block;
});
log(`writeTorchSave: ${seconds(started)} s for ${layout.totalBytes} bytes; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);

const sums = ["torch", "ours"].map((side) => execFileSync("sha256sum", [join(dir, side, "huge.bin")], { encoding: "utf8" }).split(" ")[0]);
log(`sha256 torch ${sums[0]}\nsha256 ours  ${sums[1]}`);
log(sums[0] === sums[1] ? "IDENTICAL" : "DIFFERENT");
if (!process.argv.includes("--keep")) await rm(dir, { recursive: true, force: true });
process.exitCode = sums[0] === sums[1] ? 0 : 1;
