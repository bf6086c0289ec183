export { InputError, RecipeError, RecoverError, VerificationError, type InputErrorCode } from "./errors.js";
export { bundledManifestsDir, loadRecipe, validateRecipe } from "./recipe/load-recipe.js";
export type { ClearRecipeFile, EncryptedRecipeFile, LoadedRecipe, Recipe, RecipeFile } from "./recipe/types.js";
export type { FileStatus, RecoverEvent, RecoverSummary } from "./recover/events.js";
export { recover, type RecoverOptions } from "./recover/recover.js";
export type { VerifiedFile } from "./recover/recover-file.js";
export { runCli } from "./cli/run-cli.js";
export { ExitCode } from "./cli/exit-codes.js";
