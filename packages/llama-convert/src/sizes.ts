import type { LlamaParams } from "./params.js";

/**
 * The MLP width the 2023 converter gave LlamaConfig: `int(math.ceil(n * 8 / 3) + 255) // 256 * 256`
 * (compute_intermediate_size). It rounds to 256 whatever params.json's multiple_of says; the
 * float division is the same IEEE double arithmetic in both languages.
 */
export function intermediateSize(dim: number): number {
  return Math.floor((Math.ceil((dim * 8) / 3) + 255) / 256) * 256;
}

/** The four published sizes and their model-parallel shard counts (the script's NUM_SHARDS). */
export const KNOWN_LLAMA_SIZES = [
  { name: "7B", dim: 4096, nHeads: 32, nLayers: 32, shards: 1 },
  { name: "13B", dim: 5120, nHeads: 40, nLayers: 40, shards: 2 },
  { name: "30B", dim: 6656, nHeads: 52, nLayers: 60, shards: 4 },
  { name: "65B", dim: 8192, nHeads: 64, nLayers: 80, shards: 8 },
] as const;

export type KnownLlamaSize = (typeof KNOWN_LLAMA_SIZES)[number];

/** The published size these params describe, or undefined for any other shape. */
export function knownLlamaSize(params: LlamaParams): KnownLlamaSize | undefined {
  return KNOWN_LLAMA_SIZES.find((size) => size.dim === params.dim && size.nHeads === params.nHeads && size.nLayers === params.nLayers);
}
