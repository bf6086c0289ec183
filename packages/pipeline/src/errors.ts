/** The exit codes of the command line (README, "Exit codes"); scripts may rely on them. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  recipeInvalid: 3,
  badInput: 4,
  verificationFailed: 5,
  busy: 6,
  interrupted: 130,
} as const;

/**
 * Every failure a user can cause or meet has a class and a code here, and the exit code the command
 * line ends with; its message is one line naming the file and what to do.
 */
export abstract class RecoverError extends Error {
  abstract readonly code: string;
  abstract readonly exitCode: number;
}

/** A command's arguments cannot be acted on (a missing setting, an unknown format, a bad name). */
export class UsageError extends RecoverError {
  override readonly name = "UsageError";
  readonly code = "USAGE";
  readonly exitCode = ExitCode.usage;
}

/** A recipe that is not valid JSON, does not match the schema, or contradicts itself. */
export class RecipeError extends RecoverError {
  override readonly name = "RecipeError";
  readonly code = "RECIPE_INVALID";
  readonly exitCode = ExitCode.recipeInvalid;
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

export type InputErrorCode =
  | "RECIPE_NOT_FOUND"
  | "ENC_FOLDER_MISSING"
  | "ENC_MISSING"
  | "ENC_SIZE"
  | "ENC_NAME"
  | "ENC_CORRUPT"
  | "BASE_MISSING"
  | "BASE_EMPTY"
  | "BASE_WRONG"
  | "NO_ROOM"
  | "OUT_NOT_WRITABLE"
  | "OUT_BUSY"
  | "OUT_OVERLAPS"
  | "MODEL_CHANGED"
  | "CONVERT_FAILED"
  | "BASE_CHANGED"
  | "MODEL_NOT_FOLDER"
  | "MODEL_INCONSISTENT"
  | "NOTHING_TO_CONVERT"
  | "INPUT_CHANGED"
  | "TENSOR_MISSING"
  | "TENSOR_NOT_CONTIGUOUS"
  | "ORIGINALS_MISSING"
  | "ORIGINALS_WRONG"
  /** A download from the Hub failed or did not match the Hub's size or sha256: the transfer, not the release, is at fault. */
  | "HUB_TRANSFER"
  | "DELTA_MISSING"
  | "DELTA_WRONG"
  | "DELTA_VOCAB";

/** Something the user supplied (the release folder, the base checkpoint, the disk) is wrong. */
export class InputError extends RecoverError {
  override readonly name = "InputError";
  get exitCode(): number {
    return this.code === "OUT_BUSY" ? ExitCode.busy : ExitCode.badInput;
  }
  constructor(
    readonly code: InputErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A recovered file did not match its header or the recipe's md5: nothing was kept under its name. */
export class VerificationError extends RecoverError {
  override readonly name = "VerificationError";
  readonly code = "VERIFY_FAILED";
  readonly exitCode = ExitCode.verificationFailed;
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

/** The run was stopped (Ctrl-C); the files it was working on keep a resume point. */
export class InterruptedError extends RecoverError {
  override readonly name = "InterruptedError";
  readonly code = "INTERRUPTED";
  readonly exitCode = ExitCode.interrupted;
  constructor(readonly unfinished: string[]) {
    super(`interrupted${unfinished.length ? `; ${unfinished.join(", ")} will continue where they stopped` : ""}: run the same command again to resume`);
  }
}

/** Disk errors met while writing to the output folder, as the user can act on them. */
export function explainWriteError(error: unknown, outDir: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") return new InputError("NO_ROOM", `${outDir}: the disk filled up while writing; free some space and run again (verified files are kept)`);
  if (code === "EROFS" || code === "EACCES" || code === "EPERM") return new InputError("OUT_NOT_WRITABLE", `${outDir}: cannot write there any more (${code}); check the folder's permissions or pass another --out`);
  return error;
}
