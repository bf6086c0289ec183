import { HubError } from "@model-recover/hf-hub";
import { ConvertError } from "@model-recover/llama-convert";
import { ChecksumListError } from "@model-recover/md5-manifest";
import { InputFileError, OutputFileError, PublishError } from "@model-recover/safe-fs";
import { TorchFormatError, TorchSaveError } from "@model-recover/torch-format";
import { KeyError } from "@model-recover/xor-core";
import { ExitCode, RecoverError, UsageError } from "@model-recover/pipeline";

export { ExitCode, UsageError };

export const exitCodesHelp = `Exit codes: 0 all verified, 2 bad usage, 3 invalid recipe, 4 bad input (missing or wrong files,
wrong base, no room, a damaged or hostile checkpoint, an inconsistent model folder, a Hub
download refused or failed),
5 a file did not verify, 6 another run holds the output folder, 130 interrupted (run the same
command again: each file continues from its last durable point).`;

/** Every error of ours carries its exit code; those of the small packages below are all bad input. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof RecoverError) return error.exitCode;
  if (isParseArgsError(error)) return ExitCode.usage;
  if (isInputProblem(error)) return ExitCode.badInput;
  return ExitCode.internal;
}

/**
 * The typed errors of the small packages, each a one-line message naming the file: a bad md5 list,
 * key or input file, an output file that cannot be written where it is named, a checkpoint or safetensors file that breaks its format (inspect, convert), a
 * params.json that cannot be converted, an output replaced by another program while it was written,
 * the Hub refusing or failing a download (gated repo, no such repo or file, a transfer that failed).
 */
export function isInputProblem(error: unknown): error is Error {
  return [ChecksumListError, KeyError, InputFileError, OutputFileError, TorchFormatError, TorchSaveError, ConvertError, PublishError, HubError].some((kind) => error instanceof kind);
}

/** node:util parseArgs throws plain errors with ERR_PARSE_ARGS_* codes for unknown or malformed flags. */
export function isParseArgsError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS");
}
