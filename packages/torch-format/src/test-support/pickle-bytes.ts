/** Pickle bytes written opcode by opcode (CPython Lib/pickletools.py), for unpickler tests. */
export type Part = Uint8Array | number[];

export function bytes(...parts: Part[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

export function text(value: string): Uint8Array {
  const utf8 = Buffer.from(value, "utf8");
  return bytes([0x58], u32(utf8.length), utf8);
}

export function global(module: string, name: string): Uint8Array {
  return bytes([0x63], Buffer.from(`${module}\n${name}\n`, "utf8"));
}

export function int(value: number): Uint8Array {
  if (value >= 0 && value < 256) return bytes([0x4b, value]);
  const le = Buffer.alloc(4);
  le.writeInt32LE(value);
  return bytes([0x4a], le);
}

export function tuple(...items: Part[]): Uint8Array {
  return bytes([0x28], ...items, [0x74]);
}

export function call(module: string, name: string, ...args: Part[]): Uint8Array {
  return bytes(global(module, name), tuple(...args), [0x52]);
}

function u32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24];
}

/** `_rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())`. */
export function tensorV2(storageClass: string, key: string, numel: number, offset: number, shape: number[], stride: number[]): Uint8Array {
  const storage = bytes(tuple(text("storage"), global("torch", storageClass), text(key), text("cpu"), int(numel)), [0x51]);
  return call("torch._utils", "_rebuild_tensor_v2", storage, int(offset), tuple(...shape.map(int)), tuple(...stride.map(int)), [0x89], call("collections", "OrderedDict"));
}

/** An OrderedDict state dict at protocol 2, as torch.save writes it. */
export function stateDict(entries: [string, Part][]): Uint8Array {
  return bytes([0x80, 2], call("collections", "OrderedDict"), [0x28], ...entries.flatMap(([name, value]) => [text(name), value]), [0x75, 0x2e]);
}
