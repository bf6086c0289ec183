export type SafeNameResult = { ok: true } | { ok: false; reason: string };

// ext4, APFS and NTFS all cap a single name at 255 bytes (or units); a longer name cannot be written.
const MAX_NAME_BYTES = 255;
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
// A lone UTF-16 surrogate cannot be encoded: the name on disk would silently differ from the recipe's.
const LONE_SURROGATE = /\p{Cs}/u;
const DRIVE_PREFIX = /^[A-Za-z]:/;
// Windows opens the device instead of a file for these stems, whatever the extension:
// `con.json` is the console, `nul.bin` swallows a whole shard.
const WINDOWS_DEVICE_STEM = /^(con|prn|aux|nul|conin\$|conout\$|com[1-9¹²³]|lpt[1-9¹²³])$/i;
// Windows refuses these in names; a colon would write an NTFS stream of another file (`config.json:x`).
const WINDOWS_FORBIDDEN = /[:*?"<>|]/;

/**
 * Checks a name that comes from a recipe or a release folder before it is joined to a directory.
 * A failure's `reason` reads after the quoted name: `"../a" must be a plain file name (no / \ or ..)`.
 */
export function checkPlainFileName(name: string): SafeNameResult {
  if (name === "") return refuse("must not be empty");
  if (name === "." || name === ".." || /[/\\]/.test(name)) {
    return refuse("must be a plain file name (no / \\ or ..)");
  }
  const control = CONTROL_CHARACTER.exec(name);
  if (control) {
    return refuse(`must not contain control characters (found ${codePoint(control[0])} at index ${control.index})`);
  }
  if (LONE_SURROGATE.test(name)) return refuse("must be valid Unicode (found a lone surrogate)");
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes > MAX_NAME_BYTES) {
    return refuse(`must be at most ${MAX_NAME_BYTES} bytes in UTF-8, found ${bytes}`);
  }
  if (DRIVE_PREFIX.test(name)) return refuse(`must not be a drive path (starts with "${name.slice(0, 2)}")`);
  const forbidden = WINDOWS_FORBIDDEN.exec(name);
  if (forbidden) return refuse(`must not contain ${forbidden[0]} (Windows cannot store it in a file name)`);
  // Windows also ignores spaces between the stem and the extension: `nul .txt` is the device too.
  const stem = (name.split(".", 1)[0] ?? "").trimEnd();
  if (WINDOWS_DEVICE_STEM.test(stem)) {
    return refuse(`must not be a Windows device name (${stem.toUpperCase()})`);
  }
  if (/[. ]$/.test(name)) return refuse("must not end with a dot or space (Windows strips them)");
  return { ok: true };
}

function refuse(reason: string): SafeNameResult {
  return { ok: false, reason };
}

function codePoint(character: string): string {
  return `U+${character.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
}
