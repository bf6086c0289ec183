/**
 * The names model-recover gives its own folders inside the folders it writes. Recipe names are plain
 * file names, and these are refused in recipes (in any case), so nothing a recipe names can ever be a
 * path in here: an xor-codec payload is named as its file, and one named `.model-recover-download`
 * would be downloaded over the download's own partial files.
 */
export const STATE_DIR = ".model-recover";
/** Where partial downloads and their records live inside the download folder (recover --enc skips folders). */
export const DOWNLOAD_STATE_DIR = ".model-recover-download";
/** `pack`'s scratch recovery, inside the release folder while it proves the release. */
export const ROUND_TRIP_DIR = ".model-recover-round-trip";

/** Each of the names above, with what it is in a message. */
export const OWN_NAMES: ReadonlyMap<string, string> = new Map([
  [STATE_DIR, "state folder"],
  [DOWNLOAD_STATE_DIR, "download state folder"],
  [ROUND_TRIP_DIR, "pack's round-trip folder"],
]);
