/**
 * The tensor element types a state dict can hold, with the storage class torch 1.13.1 pickles for
 * each (`TypedStorage.pickle_storage_type()`) and the bytes per element.
 */
export type TorchDtype = "F16" | "BF16" | "F32" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

interface DtypeFacts {
  readonly storageClass: string;
  readonly itemBytes: number;
}

const DTYPES: Readonly<Record<TorchDtype, DtypeFacts>> = {
  F16: { storageClass: "HalfStorage", itemBytes: 2 },
  BF16: { storageClass: "BFloat16Storage", itemBytes: 2 },
  F32: { storageClass: "FloatStorage", itemBytes: 4 },
  F64: { storageClass: "DoubleStorage", itemBytes: 8 },
  I64: { storageClass: "LongStorage", itemBytes: 8 },
  I32: { storageClass: "IntStorage", itemBytes: 4 },
  I16: { storageClass: "ShortStorage", itemBytes: 2 },
  I8: { storageClass: "CharStorage", itemBytes: 1 },
  U8: { storageClass: "ByteStorage", itemBytes: 1 },
  BOOL: { storageClass: "BoolStorage", itemBytes: 1 },
};

export function isTorchDtype(value: unknown): value is TorchDtype {
  return typeof value === "string" && Object.hasOwn(DTYPES, value);
}

export function storageClassOf(dtype: TorchDtype): string {
  return DTYPES[dtype].storageClass;
}

export function itemBytesOf(dtype: TorchDtype): number {
  return DTYPES[dtype].itemBytes;
}
