import { ChecksumListError } from "@model-recover/md5-manifest";
import { InputError, RecipeError, VerificationError } from "../errors.js";

/** Documented in the README ("Exit codes"); scripts may rely on them. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  recipeInvalid: 3,
  badInput: 4,
  verificationFailed: 5,
  interrupted: 130,
} as const;

/** A command line that cannot be acted on. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly code = "USAGE";
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || isParseArgsError(error)) return ExitCode.usage;
  if (error instanceof RecipeError) return ExitCode.recipeInvalid;
  if (error instanceof InputError || error instanceof ChecksumListError) return ExitCode.badInput;
  if (error instanceof VerificationError) return ExitCode.verificationFailed;
  return ExitCode.internal;
}

/** node:util parseArgs throws plain errors with ERR_PARSE_ARGS_* codes for unknown or malformed flags. */
export function isParseArgsError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS");
}
