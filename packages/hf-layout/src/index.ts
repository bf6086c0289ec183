export { LayoutError } from "./errors.js";
export { checkPlainFileName, type SafeNameResult } from "./safe-name.js";
export { encFileName, parseEncFileName, type EncFileName, type EncNameResult } from "./enc-name.js";
export { checkHfFolder, describeProblem, type FolderProblem, type FolderReport } from "./hf-folder.js";
