import { open, readFile } from "node:fs/promises";
import type { SafetensorsConversion } from "../convert/conversion.js";
import { TorchToSafetensorsStream } from "../convert/torch-to-safetensors-stream.js";
import { positionalWriter } from "../convert/write-fully.js";
import type { PlanOptions } from "../safetensors/plan.js";

/** mulberry32: chunk sizes from a seed, so a failing split can be replayed. */
export function seededSizes(seed: number, max: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return 1 + (((t ^ (t >>> 14)) >>> 0) % max);
  };
}

/**
 * Streams a .bin through TorchToSafetensorsStream as the recovery engine would: sequential chunks of
 * the given sizes, each copied into one buffer that is reused for every chunk (so a converter keeping
 * a reference past push() would write garbage), the output written by position.
 */
export async function streamFile(binPath: string, outPath: string, nextSize: () => number, options: PlanOptions = {}): Promise<SafetensorsConversion> {
  const bin = await readFile(binPath);
  const output = await open(outPath, "w");
  try {
    const converter = new TorchToSafetensorsStream({ ...options, source: binPath, write: positionalWriter(output) });
    const buffer = new Uint8Array(1 << 20);
    for (let at = 0; at < bin.length; ) {
      const chunk = bin.subarray(at, at + Math.min(buffer.length, nextSize()));
      buffer.set(chunk);
      await converter.push(buffer.subarray(0, chunk.length));
      buffer.fill(0xee, 0, chunk.length);
      at += chunk.length;
    }
    return await converter.end();
  } finally {
    await output.close();
  }
}
