/**
 * Pickle opcodes by byte (CPython Lib/pickletools.py). The unpickler implements the ones a protocol
 * 2-5 torch.save of a state dict emits; this table names every other one in its refusal.
 */
export const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32,
  BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d, LONG1: 0x8a, LONG4: 0x8b,
  NONE: 0x4e, NEWTRUE: 0x88, NEWFALSE: 0x89, BINFLOAT: 0x47,
  BINSTRING: 0x54, SHORT_BINSTRING: 0x55, BINBYTES: 0x42, SHORT_BINBYTES: 0x43, BINBYTES8: 0x8e,
  BINUNICODE: 0x58, SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d,
  EMPTY_TUPLE: 0x29, TUPLE: 0x74, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  EMPTY_LIST: 0x5d, APPEND: 0x61, APPENDS: 0x65, EMPTY_DICT: 0x7d, SETITEM: 0x73, SETITEMS: 0x75,
  BINGET: 0x68, LONG_BINGET: 0x6a, BINPUT: 0x71, LONG_BINPUT: 0x72, MEMOIZE: 0x94,
  GLOBAL: 0x63, STACK_GLOBAL: 0x93, REDUCE: 0x52, BUILD: 0x62, BINPERSID: 0x51,
  PROTO: 0x80, FRAME: 0x95,
} as const;

const REFUSED = {
  INT: 0x49, LONG: 0x4c, STRING: 0x53, UNICODE: 0x56, FLOAT: 0x46, LIST: 0x6c, DICT: 0x64, GET: 0x67, PUT: 0x70,
  PERSID: 0x50, // protocol 0 text forms
  INST: 0x69, OBJ: 0x6f, NEWOBJ: 0x81, NEWOBJ_EX: 0x92, // build arbitrary class instances
  EXT1: 0x82, EXT2: 0x83, EXT4: 0x84, // the copyreg extension registry
  EMPTY_SET: 0x8f, ADDITEMS: 0x90, FROZENSET: 0x91, // sets: no state dict holds one
  BYTEARRAY8: 0x96, NEXT_BUFFER: 0x97, READONLY_BUFFER: 0x98, // protocol 5 out-of-band buffers
} as const;

export function opcodeName(code: number): string {
  const known = [...Object.entries(OP), ...Object.entries(REFUSED)].find(([, value]) => value === code)?.[0];
  return known ? `${known} (0x${code.toString(16).padStart(2, "0")})` : `unknown opcode 0x${code.toString(16).padStart(2, "0")}`;
}
