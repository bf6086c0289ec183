export { ConvertError, type ConvertErrorCode } from "./errors.js";
export { configJson, generationConfigJson, specialTokensMapJson, TRANSFORMERS_VERSION, tokenizerConfigJson } from "./hf-files.js";
export { roundToFloat16, rotaryInvFreq, savedRotaryInvFreq } from "./inv-freq.js";
export { LLAMA_VOCAB_SIZE, type LlamaParams, parseParams } from "./params.js";
export { PyFloat, pyFloat, type PyJson, pythonFloatRepr, pythonJsonDumps } from "./python-json.js";
export { DEFAULT_BLOCK_BYTES, hfTensorBlocks, type OriginalRowReader, permuteRotaryHeads } from "./row-blocks.js";
export { type HfShard, MAX_SHARD_BYTES, shardCheckpoint, shardIndexJson } from "./sharding.js";
export { intermediateSize, KNOWN_LLAMA_SIZES, type KnownLlamaSize, knownLlamaSize } from "./sizes.js";
export { type ConvertGeometry, convertGeometry, type PlannedTensor, planTensors, type ShardableTensor, type TensorSource, tensorBytes } from "./tensor-plan.js";
