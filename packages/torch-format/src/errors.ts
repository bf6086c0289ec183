/**
 * What a checkpoint or safetensors file can do wrong. The CLI maps `code` to an exit code; the message
 * is one line that names the file and the problem, with what was expected and what was found.
 */
export type TorchFormatErrorCode =
  | "LEGACY_FORMAT" // torch.save(_use_new_zipfile_serialization=False): a pickle stream, not a zip
  | "NOT_A_CHECKPOINT" // neither a zip nor the legacy format
  | "ZIP_TRUNCATED" // the file or stream ends before the zip does
  | "ZIP_INVALID" // a zip structure torch.save never writes (compression, encryption, bad signature)
  | "UNSAFE_RECORD_NAME" // a record or storage key that would escape the archive folder
  | "RECORD_MISSING" // data.pkl or a storage record the pickle names is absent
  | "FORBIDDEN_GLOBAL" // the pickle names a global a state dict never needs
  | "UNSUPPORTED_OPCODE" // a pickle opcode torch.save never emits
  | "PICKLE_INVALID" // a malformed pickle, or one that is not a flat state dict of tensors
  | "SIZE_OVERFLOW" // a size or offset beyond 2^53, or a product that overflows
  | "SIZE_MISMATCH" // sizes that disagree: a tensor past its storage end, a record of the wrong length
  | "UNSUPPORTED_DTYPE" // a dtype safetensors output here does not cover (complex, quantized, float8...)
  | "BIG_ENDIAN" // a byteorder record saying "big"
  | "NON_CONTIGUOUS" // a strided view that cannot be copied in C order here (named)
  | "SHARED_STORAGE" // tensors sharing a storage with no complete name to keep, as convert.py refuses
  | "STREAM_ORDER" // bytes pushed in an order the streaming converter cannot place
  | "HEADER_TOO_LARGE" // a safetensors header length over the reader's cap
  | "SAFETENSORS_INVALID"; // a safetensors header that breaks the format's rules

export class TorchFormatError extends Error {
  override readonly name = "TorchFormatError";
  constructor(
    readonly code: TorchFormatErrorCode,
    /** The file (or stream source) the problem is in. */
    readonly file: string,
    /** The problem, without the file name: the message is `${file}: ${problem}`. */
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}
