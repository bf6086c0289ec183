import { TorchFormatError, type TorchFormatErrorCode } from "../errors.js";
import { PickleCursor } from "./cursor.js";
import { OP, opcodeName } from "./opcodes.js";
import { describeValue, PickleDict, PickleList, PickleTuple, type PickleValue, UnhashableKeyError } from "./values.js";

/** Where the restricted unpickler asks its caller: the only doors from the pickle to any meaning. */
export interface PickleHost {
  global(module: string, name: string): PickleValue;
  reduce(callable: PickleValue, args: PickleTuple): PickleValue;
  persistentLoad(pid: PickleValue): PickleValue;
  build(target: PickleValue, state: PickleValue): void;
}

/** A host's refusal; the unpickler adds the file and the byte where it happened. */
export class PickleRefusal extends Error {
  constructor(
    readonly code: TorchFormatErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Even a 100,000-tensor state dict stays under this; a pickle over it is an attack on memory. */
export const PICKLE_MAX_OBJECTS = 4_000_000;

/**
 * A pickle virtual machine for protocols 2-5 that runs nothing: globals, calls, persistent ids and
 * BUILD all go to the host, which knows the handful a state dict needs. Opcodes that build arbitrary
 * objects (INST, OBJ, NEWOBJ), reach the extension registry or carry out-of-band buffers are refused
 * by name, as are the protocol 0/1 text forms torch.save never writes.
 */
export function unpickle(bytes: Uint8Array, host: PickleHost, file: string, record: string): PickleValue {
  const machine = new Machine(new PickleCursor(bytes), host);
  let at = 0;
  try {
    do at = machine.cursor.pos;
    while (!machine.step());
    return machine.result;
  } catch (error) {
    const where = `${record} at byte ${at}`;
    if (error instanceof PickleRefusal) throw new TorchFormatError(error.code, file, `${where}: ${error.message}`);
    if (error instanceof PickleCursor.Truncated) throw new TorchFormatError("PICKLE_INVALID", file, `${where}: the pickle ends inside an opcode (no STOP)`);
    if (error instanceof UnhashableKeyError) throw new TorchFormatError("PICKLE_INVALID", file, `${where}: a dict key that is ${error.message}`);
    throw error;
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

class Machine {
  private readonly stack: PickleValue[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PickleValue>();
  private objects = 0;
  result: PickleValue = null;

  constructor(
    readonly cursor: PickleCursor,
    private readonly host: PickleHost,
  ) {}

  /** Runs one opcode; true once STOP has left the result in `result`. */
  step(): boolean {
    const code = this.cursor.u8();
    if (this.cursor.pos === 1 && code !== OP.PROTO) {
      throw new PickleRefusal("UNSUPPORTED_OPCODE", `a pickle without PROTO (protocol 0 or 1, starting with ${opcodeName(code)}); torch.save writes protocols 2 to 5`);
    }
    switch (code) {
      case OP.PROTO: this.protocol(this.cursor.u8()); break;
      case OP.FRAME: this.cursor.length64(); break; // framing only batches reads
      case OP.STOP: this.result = this.pop(); return true;
      case OP.MARK: this.marks.push(this.stack.length); break;
      case OP.POP: this.pop(); break;
      case OP.POP_MARK: this.popMark(); break;
      case OP.DUP: this.push(this.top()); break;
      case OP.NONE: this.push(null); break;
      case OP.NEWTRUE: this.push(true); break;
      case OP.NEWFALSE: this.push(false); break;
      case OP.BININT: this.push(this.cursor.i32()); break;
      case OP.BININT1: this.push(this.cursor.u8()); break;
      case OP.BININT2: this.push(this.cursor.u16()); break;
      case OP.LONG1: this.push(this.cursor.signedLE(this.cursor.u8())); break;
      case OP.LONG4: this.push(this.cursor.signedLE(this.longLength(this.cursor.i32()))); break;
      case OP.BINFLOAT: this.push(this.cursor.float64be()); break;
      case OP.SHORT_BINUNICODE: case OP.SHORT_BINSTRING: this.pushText(this.cursor.u8()); break;
      case OP.BINUNICODE: this.pushText(this.cursor.u32()); break;
      case OP.BINSTRING: this.pushText(this.cursor.i32()); break;
      case OP.BINUNICODE8: this.pushText(this.cursor.length64()); break;
      case OP.SHORT_BINBYTES: this.pushNew(this.cursor.take(this.cursor.u8()).slice()); break;
      case OP.BINBYTES: this.pushNew(this.cursor.take(this.cursor.u32()).slice()); break;
      case OP.BINBYTES8: this.pushNew(this.cursor.take(this.cursor.length64()).slice()); break;
      case OP.EMPTY_TUPLE: this.pushNew(new PickleTuple([])); break;
      case OP.TUPLE: this.pushNew(new PickleTuple(this.popMark())); break;
      case OP.TUPLE1: case OP.TUPLE2: case OP.TUPLE3: this.pushNew(new PickleTuple(this.popN(code - OP.TUPLE1 + 1))); break;
      case OP.EMPTY_LIST: this.pushNew(new PickleList()); break;
      case OP.APPEND: { const value = this.pop(); this.list().items.push(value); break; }
      case OP.APPENDS: { const items = this.popMark(); this.list().items.push(...items); break; }
      case OP.EMPTY_DICT: this.pushNew(new PickleDict(false)); break;
      case OP.SETITEM: this.setItems(this.popN(2)); break;
      case OP.SETITEMS: this.setItems(this.popMark()); break;
      case OP.BINGET: this.push(this.recall(this.cursor.u8())); break;
      case OP.LONG_BINGET: this.push(this.recall(this.cursor.u32())); break;
      case OP.BINPUT: this.memo.set(this.cursor.u8(), this.top()); break;
      case OP.LONG_BINPUT: this.memo.set(this.cursor.u32(), this.top()); break;
      case OP.MEMOIZE: this.memo.set(this.memo.size, this.top()); break;
      case OP.GLOBAL: this.push(this.host.global(this.text(this.cursor.line()), this.text(this.cursor.line()))); break;
      case OP.STACK_GLOBAL: { const [module, name] = this.popN(2); this.push(this.host.global(this.name(module!), this.name(name!))); break; }
      case OP.REDUCE: { const args = this.tuple(this.pop(), "REDUCE arguments"); this.push(this.host.reduce(this.pop(), args)); break; }
      case OP.BUILD: { const state = this.pop(); this.host.build(this.top(), state); break; }
      case OP.BINPERSID: this.push(this.host.persistentLoad(this.pop())); break;
      default: throw new PickleRefusal("UNSUPPORTED_OPCODE", `opcode ${opcodeName(code)}, which torch.save never emits for a state dict`);
    }
    return false;
  }

  private protocol(version: number): void {
    if (version < 2 || version > 5) throw new PickleRefusal("UNSUPPORTED_OPCODE", `pickle protocol ${version}; torch.save writes protocols 2 to 5`);
  }

  private push(value: PickleValue): void {
    this.stack.push(value);
  }

  private pushNew(value: PickleValue): void {
    if (++this.objects > PICKLE_MAX_OBJECTS) throw new PickleRefusal("PICKLE_INVALID", `more than ${PICKLE_MAX_OBJECTS} objects; no state dict needs that many`);
    this.push(value);
  }

  private pushText(length: number): void {
    if (length < 0) throw new PickleRefusal("PICKLE_INVALID", `a string of negative length ${length}`);
    this.pushNew(this.text(this.cursor.take(length)));
  }

  private text(bytes: Uint8Array): string {
    try {
      return UTF8.decode(bytes);
    } catch {
      throw new PickleRefusal("PICKLE_INVALID", "a string that is not UTF-8");
    }
  }

  private longLength(length: number): number {
    if (length < 0 || length > 64) throw new PickleRefusal("PICKLE_INVALID", `an integer of ${length} bytes; no size or offset needs more than 8`);
    return length;
  }

  private pop(): PickleValue {
    if (this.stack.length <= (this.marks.at(-1) ?? 0)) throw new PickleRefusal("PICKLE_INVALID", "an opcode pops from an empty stack");
    return this.stack.pop()!;
  }

  private popN(count: number): PickleValue[] {
    if (this.stack.length - count < (this.marks.at(-1) ?? 0)) throw new PickleRefusal("PICKLE_INVALID", `an opcode takes ${count} items from a stack that has fewer`);
    return this.stack.splice(this.stack.length - count, count);
  }

  private popMark(): PickleValue[] {
    const mark = this.marks.pop();
    if (mark === undefined) throw new PickleRefusal("PICKLE_INVALID", "an opcode needs a MARK that was never set");
    return this.stack.splice(mark);
  }

  private top(): PickleValue {
    if (this.stack.length <= (this.marks.at(-1) ?? 0)) throw new PickleRefusal("PICKLE_INVALID", "an opcode reads an empty stack");
    return this.stack.at(-1)!;
  }

  private recall(index: number): PickleValue {
    if (!this.memo.has(index)) throw new PickleRefusal("PICKLE_INVALID", `memo slot ${index} was never stored`);
    return this.memo.get(index)!;
  }

  private list(): PickleList {
    const target = this.top();
    if (target instanceof PickleList) return target;
    throw new PickleRefusal("PICKLE_INVALID", `APPEND to ${describeValue(target)}, not a list`);
  }

  private dict(): PickleDict {
    const target = this.top();
    if (target instanceof PickleDict) return target;
    throw new PickleRefusal("PICKLE_INVALID", `SETITEM on ${describeValue(target)}, not a dict`);
  }

  private setItems(items: PickleValue[]): void {
    if (items.length % 2 !== 0) throw new PickleRefusal("PICKLE_INVALID", "SETITEMS with a key and no value");
    const dict = this.dict();
    for (let i = 0; i < items.length; i += 2) dict.set(items[i]!, items[i + 1]!);
  }

  private tuple(value: PickleValue, what: string): PickleTuple {
    if (value instanceof PickleTuple) return value;
    throw new PickleRefusal("PICKLE_INVALID", `${what} are ${describeValue(value)}, not a tuple`);
  }

  private name(value: PickleValue): string {
    if (typeof value === "string") return value;
    throw new PickleRefusal("PICKLE_INVALID", `STACK_GLOBAL with ${describeValue(value)} for a name`);
  }
}
