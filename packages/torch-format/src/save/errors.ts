export type TorchSaveErrorCode = "SAVE_BAD_FILE_NAME" | "SAVE_BAD_STATE_DICT" | "SAVE_SOURCE_SIZE";

/** A state dict or output path that torch.save's layout cannot be written for, or a byte source that lied. */
export class TorchSaveError extends Error {
  override readonly name = "TorchSaveError";
  constructor(
    readonly code: TorchSaveErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}
