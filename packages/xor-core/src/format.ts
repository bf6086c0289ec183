/** Spec §1: the payload is processed in chunks of C = 10 MiB, each XORed with the next C bytes of the key. */
export const KEY_CHUNK_BYTES = 10 * 1024 * 1024;

/** Spec §1: a `.enc` file starts with the raw SHA-256 digest (32 bytes) of its plaintext. */
export const ENC_HEADER_BYTES = 32;

/** Where key chunk `j` lies in the key file and how long it is (L_j in spec §1). */
export interface KeySpan {
  readonly index: number;
  readonly offset: number;
  readonly length: number;
}

/**
 * The key span used for payload chunk `payloadChunk` (spec §1, closed form).
 * The published script rewinds the key when a read returns nothing, so the key chunks repeat with
 * period N = ceil(K / C), and the last one may be shorter than C.
 */
export function keySpanForPayloadChunk(keySize: number, payloadChunk: number): KeySpan {
  const keyChunks = Math.ceil(keySize / KEY_CHUNK_BYTES);
  const index = payloadChunk % keyChunks;
  const offset = index * KEY_CHUNK_BYTES;
  return { index, offset, length: Math.min(KEY_CHUNK_BYTES, keySize - offset) };
}

/** The key offset whose byte XORs payload offset `x`: key[j·C + (o mod L_j)]. For tests and tools, not the hot path. */
export function keyOffsetForPayloadOffset(keySize: number, x: number): number {
  const span = keySpanForPayloadChunk(keySize, Math.floor(x / KEY_CHUNK_BYTES));
  return span.offset + ((x % KEY_CHUNK_BYTES) % span.length);
}
