import { gnuEscape, gnuUnescape, needsGnuEscape } from "./gnu-escape.js";

/** One line of an md5sum/sha256sum list; the digest's length (32 or 64) says which algorithm. */
export interface ChecksumEntry {
  digest: string;
  name: string;
  binary: boolean;
}

const EXPECTED_LINE = '"<32 or 64 hex digits>  <file name>"';
const EXPECTED_ESCAPED_NAME = 'a name escaped as \\\\, \\n or \\r on a line that starts with "\\"';
const EXPECTED_DIGEST = '"<32 or 64 hex digits>"';
const EXPECTED_NAME = "a non-empty file name";
const EXCERPT_CHARS = 100;

export class ChecksumListError extends Error {
  readonly code = "CHECKSUM_LIST_INVALID";
  readonly source: string;
  readonly line: number;

  constructor(source: string, line: number, expected: string, found: string) {
    const excerpt = found.length > EXCERPT_CHARS ? `${found.slice(0, EXCERPT_CHARS)}…` : found;
    super(`${source}:${line}: expected ${expected}, found ${JSON.stringify(excerpt)}`);
    this.name = "ChecksumListError";
    this.source = source;
    this.line = line;
  }
}

// GNU form: digest, one blank, then " " (text) or "*" (binary) before the name. Like `md5sum -c`,
// a lone blank is accepted too: model cards rendered as HTML collapse the two spaces into one.
const GNU_LINE = /^([0-9a-f]{32}|[0-9a-f]{64})[ \t]([ *]?)(.*)$/i;
// BSD form written by `md5sum --tag`; the greedy name finds the last ") = ", as coreutils does.
const TAG_LINE = /^(MD5|SHA256) \((.*)\) = ([0-9a-f]+)$/i;
const TAG_DIGEST_LENGTH: Readonly<Record<string, number>> = { MD5: 32, SHA256: 64 };

/**
 * Reads what `md5sum`/`sha256sum` (with or without -b, --tag) print, as pasted from model cards:
 * CRLF endings, blank lines and # comments are allowed; a leading "./" is dropped from names.
 */
export function parseChecksumList(text: string, source = "checksum list"): ChecksumEntry[] {
  const entries: ChecksumEntry[] = [];
  text.split("\n").forEach((rawLine, index) => {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    const content = line.replace(/^[ \t]+/, "");
    if (content === "" || content.startsWith("#")) return;
    entries.push(parseEntry(content, source, index + 1, line));
  });
  return entries;
}

function parseEntry(
  content: string,
  source: string,
  lineNumber: number,
  line: string,
): ChecksumEntry {
  const invalid = (expected: string) => new ChecksumListError(source, lineNumber, expected, line);
  const escaped = content.startsWith("\\");
  const fields = splitFields(escaped ? content.slice(1) : content);
  if (!fields) throw invalid(EXPECTED_LINE);
  const name = escaped ? gnuUnescape(fields.rawName) : fields.rawName;
  if (name === undefined) throw invalid(EXPECTED_ESCAPED_NAME);
  const plainName = name.replace(/^(\.\/)+/, "");
  if (plainName === "") throw invalid(EXPECTED_NAME);
  return { digest: fields.digest.toLowerCase(), name: plainName, binary: fields.binary };
}

interface LineFields {
  digest: string;
  /** Still escaped when the line starts with "\\". */
  rawName: string;
  binary: boolean;
}

function splitFields(body: string): LineFields | undefined {
  const tag = TAG_LINE.exec(body);
  if (tag) {
    const [, algorithm = "", rawName = "", digest = ""] = tag;
    const fits = digest.length === TAG_DIGEST_LENGTH[algorithm.toUpperCase()];
    return fits ? { digest, rawName, binary: true } : undefined;
  }
  const gnu = GNU_LINE.exec(body);
  if (!gnu) return undefined;
  const [, digest = "", mode = "", rawName = ""] = gnu;
  return { digest, rawName, binary: mode === "*" };
}

/** Writes lines `md5sum -c` (and `sha256sum -c`) accept, escaping names the GNU way. */
export function formatChecksumList(
  entries: readonly { digest: string; name: string; binary?: boolean }[],
): string {
  return entries
    .map(({ digest, name, binary = false }, index) => {
      if (!/^([0-9a-f]{32}|[0-9a-f]{64})$/i.test(digest)) {
        throw new ChecksumListError("entries", index + 1, EXPECTED_DIGEST, digest);
      }
      if (name === "") throw new ChecksumListError("entries", index + 1, EXPECTED_NAME, name);
      const prefix = needsGnuEscape(name) ? "\\" : "";
      return `${prefix}${digest.toLowerCase()}${binary ? " *" : "  "}${gnuEscape(name)}\n`;
    })
    .join("");
}
