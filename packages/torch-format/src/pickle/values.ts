/**
 * What the restricted unpickler builds: plain data, and opaque objects its host (the torch rules)
 * makes for the few globals a state dict names. No Python object is ever imitated beyond that.
 */
export type PickleValue = null | boolean | number | bigint | string | Uint8Array | PickleTuple | PickleList | PickleDict | HostValue;

/** An object the host made (a global reference, a storage, a tensor); `hostKind` tells which. */
export interface HostValue {
  readonly hostKind: string;
  describe(): string;
}

export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

export class PickleList {
  readonly items: PickleValue[] = [];
}

/** A dict or OrderedDict: insertion order kept, keys compared as Python compares them. */
export class PickleDict {
  private readonly entries = new Map<string, [PickleValue, PickleValue]>();
  constructor(readonly ordered: boolean) {}

  set(key: PickleValue, value: PickleValue): void {
    const slot = dictKey(key);
    const existing = this.entries.get(slot);
    // Python keeps the first key object and its position when a key is set again.
    this.entries.set(slot, [existing ? existing[0] : key, value]);
  }

  get(key: string): PickleValue | undefined {
    return this.entries.get(dictKey(key))?.[1];
  }

  items(): [PickleValue, PickleValue][] {
    return [...this.entries.values()];
  }
}

export class UnhashableKeyError extends Error {}

/** Python equality for the key types a pickle can carry: 1 == 1.0 == True, tuples by value. */
function dictKey(key: PickleValue, depth = 0): string {
  if (depth > 32) throw new UnhashableKeyError("a key nested more than 32 tuples deep");
  if (typeof key === "string") return `s${key}`;
  if (typeof key === "number" || typeof key === "bigint") return `n${key}`;
  if (typeof key === "boolean") return key ? "n1" : "n0";
  if (key === null) return "none";
  if (key instanceof Uint8Array) return `b${Buffer.from(key).toString("hex")}`;
  if (key instanceof PickleTuple) return `t(${key.items.map((item) => dictKey(item, depth + 1)).join(",")})`;
  throw new UnhashableKeyError(describeValue(key));
}

export function describeValue(value: PickleValue): string {
  if (value === null) return "None";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === "number" || typeof value === "bigint") return `the number ${value}`;
  if (typeof value === "boolean") return value ? "True" : "False";
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (value instanceof PickleTuple) return `a tuple of ${value.items.length}`;
  if (value instanceof PickleList) return `a list of ${value.items.length}`;
  if (value instanceof PickleDict) return value.ordered ? "an OrderedDict" : "a dict";
  return value.describe();
}
