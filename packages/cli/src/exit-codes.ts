import { ChecksumListError } from "@model-recover/md5-manifest";
import { InputFileError } from "@model-recover/safe-fs";
import { KeyError } from "@model-recover/xor-core";
import { InputError, InterruptedError, RecipeError, UsageError, VerificationError } from "@model-recover/pipeline";

export { UsageError };

/** Documented in the README ("Exit codes"); scripts may rely on them. */
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

export const exitCodesHelp = `Exit codes: 0 all verified, 2 bad usage, 3 invalid recipe, 4 bad input (missing or wrong files,
wrong base, no room), 5 a file did not verify, 6 another run holds the output folder, 130 interrupted
(run the same command again: each file continues from its last durable point).`;

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || isParseArgsError(error)) return ExitCode.usage;
  if (error instanceof InterruptedError) return ExitCode.interrupted;
  if (error instanceof InputError && error.code === "OUT_BUSY") return ExitCode.busy;
  if (error instanceof RecipeError) return ExitCode.recipeInvalid;
  if (error instanceof InputError || error instanceof ChecksumListError || error instanceof KeyError || error instanceof InputFileError) return ExitCode.badInput;
  if (error instanceof VerificationError) return ExitCode.verificationFailed;
  return ExitCode.internal;
}

/** node:util parseArgs throws plain errors with ERR_PARSE_ARGS_* codes for unknown or malformed flags. */
export function isParseArgsError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS");
}
