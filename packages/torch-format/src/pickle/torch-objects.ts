import type { Dtype } from "../dtype.js";
import type { HostValue } from "./values.js";

/** What an allowed global stands for; nothing behind it is ever called. */
export type GlobalRole =
  | { kind: "OrderedDict" }
  | { kind: "rebuildTensorV2" }
  | { kind: "rebuildTensorV3" }
  | { kind: "rebuildParameter" }
  | { kind: "Size" }
  | { kind: "storageType"; dtype: Dtype | "untyped" }
  | { kind: "dtype"; dtype: Dtype };

export class GlobalRef implements HostValue {
  readonly hostKind = "global";
  constructor(
    readonly qualifiedName: string,
    readonly role: GlobalRole,
  ) {}
  describe(): string {
    return this.qualifiedName;
  }
}

/** A storage a persistent id names: its record `data/<key>` holds `byteLength` bytes. */
export class StorageRef implements HostValue {
  readonly hostKind = "storage";
  constructor(
    readonly key: string,
    /** The typed storage's element type, or "untyped" (counted in bytes) for the v3 form. */
    readonly dtype: Dtype | "untyped",
    readonly numel: number,
    readonly byteLength: number,
  ) {}
  describe(): string {
    return `storage ${JSON.stringify(this.key)}`;
  }
}

/** A tensor as `_rebuild_tensor_v2/_v3` would make it: a strided view of a storage. */
export class TensorRef implements HostValue {
  readonly hostKind = "tensor";
  constructor(
    readonly storage: StorageRef,
    readonly dtype: Dtype,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
  describe(): string {
    return `a ${this.dtype} tensor`;
  }
}
