/**
 * GNU coreutils' escaping of file names in checksum lines: when a name holds a backslash, a
 * newline or (since coreutils 9) a carriage return, the whole line starts with "\" and those
 * characters are written as \\, \n and \r. Escaping \r matters for us too: a raw CR at the end of a
 * name would be eaten as half of a CRLF line ending, by `md5sum -c` and by our parser alike.
 */

const ESCAPES: Readonly<Record<string, string>> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r" };
const UNESCAPES: Readonly<Record<string, string>> = { "\\": "\\", n: "\n", r: "\r" };

export function needsGnuEscape(name: string): boolean {
  return /[\\\n\r]/.test(name);
}

export function gnuEscape(name: string): string {
  return name.replace(/[\\\n\r]/g, (char) => ESCAPES[char] ?? char);
}

/** Undoes gnuEscape; undefined when a backslash is followed by anything but \, n or r. */
export function gnuUnescape(escaped: string): string | undefined {
  let name = "";
  for (let i = 0; i < escaped.length; i++) {
    const char = escaped[i];
    if (char !== "\\") {
      name += char;
      continue;
    }
    const unescaped = UNESCAPES[escaped[i + 1] ?? ""];
    if (unescaped === undefined) return undefined;
    name += unescaped;
    i++;
  }
  return name;
}
