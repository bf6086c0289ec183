export { sameIdentity, identityOf, isFileIdentity, publishHandle, PublishError, regularFileIdentity, type FileIdentity } from "./identity.js";
export { describeKind, InputFileError, openRegularFile, readSmallFile, statRegularFile, type InputFileErrorCode } from "./input-file.js";
export { makeFolder } from "./make-folder.js";
export { checkOutputFile, type OutputFileErrorCode, OutputFileError, type OutputFileName, writeOutputFile } from "./output-file.js";
export { overlapOf, type Overlap } from "./overlap.js";
export { isWriteFreshTemp, writeFresh } from "./write-fresh.js";
