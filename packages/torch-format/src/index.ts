export { isTorchDtype, type TorchDtype } from "./save/dtypes.js";
export { TorchSaveError, type TorchSaveErrorCode } from "./save/errors.js";
export { contiguousStateDict, contiguousStride, type StateDictSpec, type StorageSpec, type TensorSpec } from "./save/state-dict.js";
export { archiveNameFor, type TorchSaveLayout } from "./save/torch-layout.js";
export { planTorchSave, type StorageSource, type TorchSaveOptions, writeTorchSave } from "./save/torch-save.js";
