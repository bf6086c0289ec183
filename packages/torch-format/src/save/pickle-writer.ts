/**
 * Pickle protocol 2 opcodes, emitted the way CPython's C pickler (`_pickle.c`, used by torch.save)
 * emits them: every string, global, non-empty tuple and reduced object is memoized with BINPUT
 * (LONG_BINPUT from memo slot 256 on), and a second reference to the same object is a BINGET.
 * Only what a state dict of tensors needs is here.
 */
const OP = {
  PROTO: 0x80,
  STOP: 0x2e,
  MARK: 0x28,
  EMPTY_DICT: 0x7d,
  SETITEM: 0x73,
  SETITEMS: 0x75,
  EMPTY_TUPLE: 0x29,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  BINUNICODE: 0x58,
  GLOBAL: 0x63,
  REDUCE: 0x52,
  BINPERSID: 0x51,
  NEWFALSE: 0x89,
  BININT1: 0x4b,
  BININT2: 0x4d,
  BININT: 0x4a,
  LONG1: 0x8a,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
} as const;

export class PickleWriter {
  private readonly parts: number[] = [];
  private nextMemo = 0;

  /** The PROTO opcode and its version byte, first in every pickle of protocol 2 or above. */
  proto(version: number): this {
    this.parts.push(OP.PROTO, version);
    return this;
  }

  op(code: keyof typeof OP): this {
    this.parts.push(OP[code]);
    return this;
  }

  /** Stores the object just built in the next memo slot and returns the slot, for a later `get`. */
  put(): number {
    const slot = this.nextMemo++;
    if (slot < 256) this.parts.push(OP.BINPUT, slot);
    else this.parts.push(OP.LONG_BINPUT, ...le32(slot));
    return slot;
  }

  get(slot: number): this {
    if (slot < 256) this.parts.push(OP.BINGET, slot);
    else this.parts.push(OP.LONG_BINGET, ...le32(slot));
    return this;
  }

  /** A str, always a new object here: BINUNICODE (UTF-8) then memoized. */
  string(text: string): number {
    const utf8 = Buffer.from(text, "utf8");
    this.parts.push(OP.BINUNICODE, ...le32(utf8.length), ...utf8);
    return this.put();
  }

  /** A module-level function or class reference: GLOBAL "module\nname\n" then memoized. */
  global(module: string, name: string): number {
    this.parts.push(OP.GLOBAL, ...Buffer.from(`${module}\n${name}\n`, "latin1"));
    return this.put();
  }

  /** A non-negative int as save_long writes it for protocol 2 (smallest BININT form, else LONG1). */
  int(value: number): this {
    if (value < 0x100) this.parts.push(OP.BININT1, value);
    else if (value < 0x10000) this.parts.push(OP.BININT2, value & 0xff, value >>> 8);
    else if (value < 0x80000000) this.parts.push(OP.BININT, ...le32(value));
    else this.parts.push(OP.LONG1, ...long1Bytes(value));
    return this;
  }

  /** A tuple of ints (a size or a stride): TUPLE1-3 or MARK..TUPLE, memoized; () is neither. */
  intTuple(values: readonly number[]): this {
    if (values.length === 0) return this.op("EMPTY_TUPLE");
    if (values.length > 3) this.op("MARK");
    for (const value of values) this.int(value);
    const closer = (["TUPLE1", "TUPLE2", "TUPLE3"] as const)[values.length - 1] ?? "TUPLE";
    this.op(closer).put();
    return this;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function le32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24];
}

/** LONG1: a length byte, then the two's-complement little-endian bytes with a clear sign bit. */
function long1Bytes(value: number): number[] {
  const out: number[] = [];
  let rest = BigInt(value);
  while (rest > 0n) {
    out.push(Number(rest & 0xffn));
    rest >>= 8n;
  }
  if ((out[out.length - 1]! & 0x80) !== 0) out.push(0);
  return [out.length, ...out];
}
