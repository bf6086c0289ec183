/**
 * Terminal controls that could be smuggled in through a recipe's title, a file name in a release
 * folder or any other input: C0 and C1 control characters (ESC starts a cursor or colour sequence,
 * CR rewrites a line), DEL, and the bidirectional overrides that reorder what is shown.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` as it may be printed: every control character shown as an escape (`\x1b`, `\n`, `\u202e`). */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    if (c === "\r") return "\\r";
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
