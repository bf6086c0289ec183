// Benchmark, not a test: how fast the tensor list of a large checkpoint is read, and how fast and in
// how much memory it is converted to safetensors, streamed and from the file.
//
//   /usr/bin/python3 packages/torch-format/test-support/make_checkpoints.py large /tmp/big.bin 4.6
//   node --conditions=source --import tsx packages/torch-format/src/test-support/bench.ts /tmp/big.bin
//
// Each conversion runs in its own process, so that its peak RSS is its own.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rm, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { convertTorchFileToSafetensors } from "../convert/convert-file.js";
import { TorchToSafetensorsStream } from "../convert/torch-to-safetensors-stream.js";
import { positionalWriter } from "../convert/write-fully.js";
import { readTorchCheckpoint } from "../torch/read-checkpoint.js";

const CHUNK_BYTES = 8 * 1024 * 1024;
const [bin, mode] = process.argv.slice(2);
if (!bin) throw new Error("usage: bench.ts CHECKPOINT.bin");

async function streamConvert(out: string): Promise<void> {
  const input = await open(bin!, "r");
  const output = await open(out, "w");
  const converter = new TorchToSafetensorsStream({ source: bin, write: positionalWriter(output) });
  const buffer = new Uint8Array(CHUNK_BYTES);
  for (let read = 1; read > 0; ) {
    ({ bytesRead: read } = await input.read(buffer, 0, buffer.length, null));
    if (read > 0) await converter.push(buffer.subarray(0, read));
  }
  await converter.end();
  await input.close();
  await output.close();
}

async function md5(path: string): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

if (mode === "stream" || mode === "file") {
  const started = performance.now();
  if (mode === "stream") await streamConvert(`${bin}.stream.safetensors`);
  else await convertTorchFileToSafetensors(bin, `${bin}.file.safetensors`);
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
} else {
  const size = (await stat(bin)).size;
  const times: number[] = [];
  let tensors = 0;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    tensors = (await readTorchCheckpoint(bin)).tensors.length;
    times.push(performance.now() - started);
  }
  console.log(`${bin}: ${(size / 2 ** 30).toFixed(2)} GiB, ${tensors} tensors; tensor list read in ${times.map((t) => t.toFixed(1)).join(", ")} ms`);
  const self = fileURLToPath(import.meta.url);
  for (const convert of ["stream", "file"]) {
    const out = execFileSync(process.execPath, ["--conditions=source", "--import", "tsx", self, bin, convert], { encoding: "utf8" });
    const { seconds, peakRssMiB } = JSON.parse(out) as { seconds: number; peakRssMiB: number };
    console.log(`${convert} conversion: ${seconds.toFixed(1)} s, ${(size / 2 ** 20 / seconds).toFixed(0)} MiB/s, peak RSS ${peakRssMiB.toFixed(0)} MiB`);
  }
  const [streamed, copied] = [await md5(`${bin}.stream.safetensors`), await md5(`${bin}.file.safetensors`)];
  console.log(`outputs ${streamed === copied ? "identical" : "DIFFER"} (md5 ${streamed})`);
  await rm(`${bin}.stream.safetensors`);
  await rm(`${bin}.file.safetensors`);
}
