export type ConvertErrorCode = "PARAMS_INVALID" | "SHARDS_INVALID" | "ROWS_INVALID";

/** An original checkpoint that cannot be converted as transformers converted it, or a row reader that lied. */
export class ConvertError extends Error {
  override readonly name = "ConvertError";
  constructor(
    readonly code: ConvertErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}
