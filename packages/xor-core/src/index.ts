export { KeyError, type KeyErrorCode } from "./errors.js";
export { ENC_HEADER_BYTES, KEY_CHUNK_BYTES, keyOffsetForPayloadOffset, keySpanForPayloadChunk, type KeySpan } from "./format.js";
export { KeyFile } from "./key-file.js";
export { Keystream } from "./keystream.js";
export { RepeatingPrefixKey, RewindingKey, ZeroPaddedKey, type KeySource } from "./key-source.js";
export { xorInto } from "./xor.js";
export { XorKernel } from "./xor-kernel.js";
export { xorshift32Bytes } from "./xorshift32.js";
