/**
 * The element types a checkpoint can hold and safetensors output covers, named as safetensors names
 * them (spec llama-patches.md §1). One table gives each its size, the torch names that select it in a
 * pickle, and its rank in the reference writer's ordering.
 */
export type Dtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

interface DtypeFacts {
  bytes: number;
  /** The legacy typed-storage class torch.save names in the persistent id (`torch.HalfStorage`). */
  storageClass: string;
  /** The dtype object torch names for `_rebuild_tensor_v3` (`torch.float16`). */
  torchName: string;
  /**
   * Position in safetensors v0.3's `enum Dtype` (safetensors/src/tensor.rs, 2023). The reference writer
   * sorts by the enum, descending, then by name; today's enum has more members but these ten keep
   * their relative order.
   */
  rank: number;
}

const DTYPES: Record<Dtype, DtypeFacts> = {
  BOOL: { bytes: 1, storageClass: "BoolStorage", torchName: "bool", rank: 0 },
  U8: { bytes: 1, storageClass: "ByteStorage", torchName: "uint8", rank: 1 },
  I8: { bytes: 1, storageClass: "CharStorage", torchName: "int8", rank: 2 },
  I16: { bytes: 2, storageClass: "ShortStorage", torchName: "int16", rank: 3 },
  F16: { bytes: 2, storageClass: "HalfStorage", torchName: "float16", rank: 5 },
  BF16: { bytes: 2, storageClass: "BFloat16Storage", torchName: "bfloat16", rank: 6 },
  I32: { bytes: 4, storageClass: "IntStorage", torchName: "int32", rank: 7 },
  F32: { bytes: 4, storageClass: "FloatStorage", torchName: "float32", rank: 9 },
  F64: { bytes: 8, storageClass: "DoubleStorage", torchName: "float64", rank: 10 },
  I64: { bytes: 8, storageClass: "LongStorage", torchName: "int64", rank: 11 },
};

export const DTYPE_NAMES = Object.keys(DTYPES) as Dtype[];

export function isDtype(name: string): name is Dtype {
  return Object.hasOwn(DTYPES, name);
}

export function dtypeBytes(dtype: Dtype): number {
  return DTYPES[dtype].bytes;
}

export function dtypeRank(dtype: Dtype): number {
  return DTYPES[dtype].rank;
}

/** The storage class torch 1.13.1 pickles for a tensor of this dtype (`TypedStorage.pickle_storage_type()`). */
export function storageClassOf(dtype: Dtype): string {
  return DTYPES[dtype].storageClass;
}

export function dtypeOfStorageClass(storageClass: string): Dtype | undefined {
  return DTYPE_NAMES.find((dtype) => DTYPES[dtype].storageClass === storageClass);
}

export function dtypeOfTorchName(torchName: string): Dtype | undefined {
  return DTYPE_NAMES.find((dtype) => DTYPES[dtype].torchName === torchName);
}

export function torchNameOf(dtype: Dtype): string {
  return `torch.${DTYPES[dtype].torchName}`;
}

/**
 * Storage classes and dtypes torch has that safetensors output here does not cover: named in the
 * pickle they are an unsupported dtype, not a forbidden global.
 */
export const OTHER_STORAGE_CLASSES = [
  "ComplexFloatStorage", "ComplexDoubleStorage", "QInt8Storage", "QUInt8Storage", "QInt32Storage",
  "QUInt4x2Storage", "QUInt2x4Storage",
];
export const OTHER_TORCH_DTYPES = [
  "complex32", "complex64", "complex128", "uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2",
  "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2", "qint8", "quint8", "qint32",
  "quint4x2", "quint2x4", "bits8", "bits16",
];
