import { InputFileError, readSmallFile } from "@model-recover/safe-fs";

/** index.json of the largest models is a few hundred kB; anything this big is not one. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

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
    // Only a regular file is read: a FIFO under the name would otherwise wait forever for a writer.
    text = await readSmallFile(path, MAX_JSON_BYTES, "JSON file");
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    if (error.code === "INPUT_MISSING") return { ok: false, missing: true };
    return { ok: false, missing: false, reason: error.message.slice(`${path}: `.length) };
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
