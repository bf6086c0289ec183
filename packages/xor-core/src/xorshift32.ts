/**
 * The deterministic byte generator of the golden vectors (fixtures/vectors/xor-release.json):
 * x ^= x << 13; x ^= x >> 17; x ^= x << 5 per 32-bit word, written little-endian; the first word is
 * the state after one step. Used to make test and benchmark data from a seed instead of blobs.
 */
export function xorshift32Bytes(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(Math.ceil(length / 4) * 4);
  const view = new DataView(bytes.buffer);
  let x = seed >>> 0;
  for (let offset = 0; offset < bytes.length; offset += 4) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    view.setUint32(offset, x, true);
  }
  return bytes.subarray(0, length);
}
