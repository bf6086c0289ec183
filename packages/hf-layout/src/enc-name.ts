import { LayoutError } from "./errors.js";
import { checkPlainFileName } from "./safe-name.js";

/** The two facts an `.enc` name carries (spec §1): the recovered file's name and its sha256. */
export interface EncFileName {
  plainName: string;
  /** sha256 of the plaintext, 64 lowercase hex digits. */
  sha256: string;
}

export type EncNameResult = { ok: true; value: EncFileName } | { ok: false; reason: string };

const ENC_SUFFIX = ".enc";
const SHA256_HEX = /^[0-9a-f]{64}$/;
const SHA256_HEX_ANY_CASE = /^[0-9a-f]{64}$/i;

/**
 * Reads `<plain name>.<sha256, 64 lowercase hex>.enc` (spec §1). A release folder also holds files
 * that are not encrypted (`README.md`, `.gitattributes`); they come back as `{ ok: false }` with a
 * reason that reads after the file name: `README.md: name does not end in ".enc"`.
 */
export function parseEncFileName(fileName: string): EncNameResult {
  if (!fileName.endsWith(ENC_SUFFIX)) return refuse(`name does not end in "${ENC_SUFFIX}"`);
  const stem = fileName.slice(0, -ENC_SUFFIX.length);
  const dot = stem.lastIndexOf(".");
  const sha256 = stem.slice(dot + 1);
  if (dot < 0 || !SHA256_HEX_ANY_CASE.test(sha256)) {
    return refuse(`name has no 64-hex sha256 before "${ENC_SUFFIX}" (expected <plain name>.<sha256>${ENC_SUFFIX})`);
  }
  // The published encrypt script writes hexdigest(), always lowercase; anything else was renamed by hand.
  if (!SHA256_HEX.test(sha256)) return refuse(`sha256 "${sha256}" must be lowercase hex`);
  const plainName = stem.slice(0, dot);
  if (plainName === "") return refuse("plain name before the sha256 is empty");
  const plain = checkPlainFileName(plainName);
  if (!plain.ok) return refuse(`plain name ${JSON.stringify(plainName)} ${plain.reason}`);
  // A safe plain name can still be too long once the 69 characters of digest and suffix are added.
  const whole = checkPlainFileName(fileName);
  if (!whole.ok) return refuse(`name ${whole.reason}`);
  return { ok: true, value: { plainName, sha256 } };
}

/** The inverse of {@link parseEncFileName}; throws {@link LayoutError} for a name it would refuse. */
export function encFileName(plainName: string, sha256: string): string {
  const plain = checkPlainFileName(plainName);
  if (!plain.ok) throw new LayoutError(`${JSON.stringify(plainName)} ${plain.reason}`);
  if (!SHA256_HEX.test(sha256)) {
    throw new LayoutError(`sha256 ${JSON.stringify(sha256)} must be 64 lowercase hex digits`);
  }
  const fileName = `${plainName}.${sha256}${ENC_SUFFIX}`;
  const whole = checkPlainFileName(fileName);
  if (!whole.ok) throw new LayoutError(`${JSON.stringify(fileName)} ${whole.reason}`);
  return fileName;
}

function refuse(reason: string): EncNameResult {
  return { ok: false, reason };
}
