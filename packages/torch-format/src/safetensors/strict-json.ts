/**
 * A JSON parser for safetensors headers that refuses what JSON.parse forgives: duplicate keys (the
 * format forbids duplicate names, and JSON.parse would keep the last silently), integers beyond 2^53
 * (offsets must be exact), and nesting deeper than any header needs.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** Keys in document order; a Map so that "__proto__" is just a key. */
export type JsonObject = Map<string, JsonValue>;

export class StrictJsonError extends Error {}

const MAX_DEPTH = 16;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

export function parseStrictJson(text: string): JsonValue {
  const parser = new Parser(text);
  const value = parser.value(0);
  parser.skipSpace();
  if (parser.pos !== text.length) parser.fail("text after the JSON value");
  return value;
}

class Parser {
  pos = 0;
  constructor(private readonly text: string) {}

  fail(what: string): never {
    throw new StrictJsonError(`${what} at character ${this.pos}`);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && " \t\n\r".includes(this.text[this.pos]!)) this.pos++;
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"') return this.string();
    for (const [word, value] of [["true", true], ["false", false], ["null", null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    return this.number();
  }

  private object(depth: number): JsonObject {
    const object: JsonObject = new Map();
    this.pos++;
    this.skipSpace();
    if (this.closes("}")) return object;
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail("expected a key");
      const key = this.string();
      if (object.has(key)) this.fail(`duplicate key ${JSON.stringify(key)}`);
      this.expect(":");
      object.set(key, this.value(depth + 1));
      if (this.separator("}")) return object;
    }
  }

  private array(depth: number): JsonValue[] {
    const array: JsonValue[] = [];
    this.pos++;
    this.skipSpace();
    if (this.closes("]")) return array;
    for (;;) {
      array.push(this.value(depth + 1));
      if (this.separator("]")) return array;
    }
  }

  /** An empty object or array: its closing bracket right away. */
  private closes(bracket: string): boolean {
    if (this.text[this.pos] !== bracket) return false;
    this.pos++;
    return true;
  }

  /** After a member: "," for more, or the closing bracket (true). */
  private separator(close: string): boolean {
    this.skipSpace();
    const c = this.text[this.pos++];
    if (c === close) return true;
    if (c !== ",") this.fail(`expected "," or "${close}"`);
    return false;
  }

  private expect(c: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== c) this.fail(`expected "${c}"`);
    this.pos++;
  }

  /** Scanned by hand: a regex over a 90 MB string overflows V8's backtracking stack. */
  private string(): string {
    const start = this.pos;
    for (let at = start + 1; at < this.text.length; ) {
      const code = this.text.charCodeAt(at);
      if (code === 0x22) {
        this.pos = at + 1;
        return JSON.parse(this.text.slice(start, at + 1)) as string;
      }
      if (code < 0x20) this.fail("a control character inside a string");
      if (code === 0x5c) {
        ESCAPE.lastIndex = at;
        if (!ESCAPE.test(this.text)) this.fail("a bad escape");
        at = ESCAPE.lastIndex;
      } else at++;
    }
    return this.fail("an unterminated string");
  }

  private number(): number {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) this.fail("expected a value");
    this.pos += match[0].length;
    const value = Number(match[0]);
    if (/^-?\d+$/.test(match[0]) && !Number.isSafeInteger(value)) this.fail(`the integer ${match[0]} is beyond 2^53`);
    return value;
  }
}
