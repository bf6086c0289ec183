/** data[i] ^= key[i] for equal-length views; word-wide when both views share 4-byte alignment. */
export function xorInto(data: Uint8Array, key: Uint8Array): void {
  if (key.length < data.length) throw new RangeError(`xorInto: key view (${key.length} bytes) shorter than data (${data.length} bytes)`);
  const n = data.length;
  let i = 0;
  const head = (4 - (data.byteOffset % 4)) % 4;
  if (head === (4 - (key.byteOffset % 4)) % 4 && n - head >= 64) {
    for (; i < head; i++) data[i]! ^= key[i]!;
    const words = (n - head) >>> 2;
    const d32 = new Uint32Array(data.buffer, data.byteOffset + head, words);
    const k32 = new Uint32Array(key.buffer, key.byteOffset + head, words);
    for (let w = 0; w < words; w++) d32[w]! ^= k32[w]!;
    i = head + words * 4;
  }
  for (; i < n; i++) data[i]! ^= key[i]!;
}
