/**
 * Names in code point order: how Python's `sorted` (convert.py) and Rust's `String` ordering (the
 * safetensors writer) compare them. JavaScript's `<` compares UTF-16 units, which differs for
 * characters beyond U+FFFF against U+E000..U+FFFF.
 */
export function compareNames(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}
