/**
 * JSON with every character past ASCII escaped as \uXXXX, as Python's json.dumps writes it by default
 * (ensure_ascii): what convert.py's index looks like, and output in which no tensor name can carry a
 * terminal control or a bidirectional override.
 */
export function asciiJson(value: unknown, indent: number): string {
  return JSON.stringify(value, null, indent).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
