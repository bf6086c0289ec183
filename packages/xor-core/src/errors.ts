export type KeyErrorCode = "KEY_MISSING" | "KEY_EMPTY" | "KEY_NOT_A_FILE" | "KEY_CHANGED";

/** A key file (the base checkpoint) that cannot serve as a key. */
export class KeyError extends Error {
  override readonly name = "KeyError";
  constructor(
    readonly code: KeyErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}
