export type { Dtype } from "./dtype.js";
export { TorchFormatError, type TorchFormatErrorCode } from "./errors.js";
export { readTorchCheckpoint, type TorchCheckpoint, type TorchStorage } from "./torch/read-checkpoint.js";
export type { TorchTensor } from "./torch/tensor.js";
