/**
 * `json.dumps(value, indent=2, sort_keys=True)` of CPython, for the small files transformers wrote
 * (config.json, the index...); `{ indent: 4 }` for `indent=4`. Python tells ints from floats, so
 * floats are wrapped: `pyFloat(1e-6)` prints as Python's repr does ("1e-06", "0.02", "1.0"), ints
 * print as digits (bigint for the tokenizer's 10**30-ish model_max_length).
 */
export class PyFloat {
  constructor(readonly value: number) {}
}

export const pyFloat = (value: number): PyFloat => new PyFloat(value);

export type PyJson = null | boolean | string | number | bigint | PyFloat | readonly PyJson[] | { readonly [key: string]: PyJson };

export function pythonJsonDumps(value: PyJson, options: { indent?: number } = {}): string {
  return dumpsAt(value, " ".repeat(options.indent ?? 2), "");
}

function dumpsAt(value: PyJson, step: string, indent: string): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "string") return pythonString(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not an int; wrap floats in pyFloat()`);
    return String(value);
  }
  if (value instanceof PyFloat) return pythonFloatRepr(value.value);
  const inner = indent + step;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((item) => inner + dumpsAt(item, step, inner)).join(",\n")}\n${indent}]`;
  }
  const keys = Object.keys(value).sort(byCodePoint);
  if (keys.length === 0) return "{}";
  const record = value as { readonly [key: string]: PyJson };
  return `{\n${keys.map((key) => `${inner}${pythonString(key)}: ${dumpsAt(record[key]!, step, inner)}`).join(",\n")}\n${indent}}`;
}

function byCodePoint(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** ensure_ascii=True, as PretrainedConfig.to_json_string and save_pretrained's index use. */
function pythonString(text: string): string {
  const escaped = JSON.stringify(text).slice(1, -1);
  return `"${escaped.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`;
}

/**
 * `repr(float)`: the shortest digits that round-trip (as JavaScript finds them), written in fixed
 * notation when the decimal exponent is in [-4, 16) and in scientific notation otherwise, with a
 * signed exponent of at least two digits; fixed notation always shows a fractional part.
 */
export function pythonFloatRepr(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`${value}: json.dumps would write a non-standard literal`);
  const sign = value < 0 || Object.is(value, -0) ? "-" : "";
  const [mantissa, exponentText] = Math.abs(value).toExponential().split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : "";
    return `${sign}${digits[0]}${fraction}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
  const fraction = digits.slice(exponent + 1) || "0";
  return `${sign}${whole}.${fraction}`;
}
