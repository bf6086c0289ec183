/**
 * The largest data.pkl accepted. A state dict costs about 100 bytes of pickle per tensor, so a
 * LLaMA-65B file (723 tensors) needs ~70 KB; this leaves room for 150,000 tensors and no more.
 */
export const PICKLE_MAX_BYTES = 16 * 1024 * 1024;

/** version, byteorder, .data/serialization_id: a few bytes each. */
export const SMALL_RECORD_MAX_BYTES = 64 * 1024;
