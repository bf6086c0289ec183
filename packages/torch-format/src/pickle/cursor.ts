/** A bounds-checked reader over pickle bytes; running past the end is `PickleCursor.Truncated`. */
export class PickleCursor {
  static readonly Truncated = class extends Error {};
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  take(length: number): Uint8Array {
    if (length > this.remaining) throw new PickleCursor.Truncated();
    const start = this.pos;
    this.pos += length;
    return this.bytes.subarray(start, this.pos);
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  u16(): number {
    const b = this.take(2);
    return b[0]! | (b[1]! << 8);
  }

  u32(): number {
    const b = this.take(4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }

  i32(): number {
    return this.u32() | 0;
  }

  /** A 64-bit length: anything past the bytes left cannot be honest, whatever its magnitude. */
  length64(): number {
    const low = this.u32();
    const high = this.u32();
    return high === 0 ? low : Number.MAX_SAFE_INTEGER;
  }

  float64be(): number {
    const b = this.take(8);
    return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false);
  }

  /** A two's-complement little-endian integer (LONG1/LONG4), as a number when it is safe. */
  signedLE(length: number): number | bigint {
    const b = this.take(length);
    let value = 0n;
    for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(b[i]!);
    if (length > 0 && b[length - 1]! & 0x80) value -= 1n << BigInt(8 * length);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  /** One `\n`-terminated line (GLOBAL's module and name), without the newline. */
  line(): Uint8Array {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) throw new PickleCursor.Truncated();
    const line = this.bytes.subarray(this.pos, end);
    this.pos = end + 1;
    return line;
  }
}
