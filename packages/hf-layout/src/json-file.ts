import { readFile } from "node:fs/promises";

export type JsonObject = Record<string, unknown>;

/** `reason` reads after the file name: `config.json is not valid JSON (...)`. */
export type JsonObjectFile =
  | { ok: true; value: JsonObject }
  | { ok: false; missing: true }
  | { ok: false; missing: false; reason: string };

/** Reads a file that must hold one JSON object (config.json, an index.json). */
export async function readJsonObjectFile(path: string): Promise<JsonObjectFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { ok: false, missing: true };
    if (code === "EISDIR") return { ok: false, missing: false, reason: "is a directory, not a file" };
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, missing: false, reason: `is not valid JSON (${(error as Error).message})` };
  }
  if (!isJsonObject(value)) {
    return { ok: false, missing: false, reason: `must hold a JSON object, found ${describeJsonType(value)}` };
  }
  return { ok: true, value };
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function describeJsonType(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}
