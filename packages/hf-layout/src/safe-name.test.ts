import { describe, expect, it } from "vitest";
import { checkPlainFileName } from "./safe-name.js";

function reasonFor(name: string): string {
  const result = checkPlainFileName(name);
  if (result.ok) throw new Error(`expected ${JSON.stringify(name)} to be refused`);
  return result.reason;
}

describe("checkPlainFileName", () => {
  it("accepts every file name of a recovered BELLE release", () => {
    const names = [
      "config.json",
      "generation_config.json",
      "pytorch_model-00001-of-00003.bin",
      "pytorch_model.bin.index.json",
      "special_tokens_map.json",
      "tokenizer.model",
      "README.md",
      ".gitattributes",
      "llama7b-2m-4bit-128g.pt",
      "a..b",
      "模型.json",
    ];
    for (const name of names) expect(checkPlainFileName(name), name).toEqual({ ok: true });
  });

  it("refuses every hostile name a recipe or release folder could carry", () => {
    for (const name of ["..", "a/b", "a\\b", "/etc/passwd", "C:x", "con.json", "NUL", "a\u0000b", "a.", "", "config.json:x", "a?b", "CONIN$", "com¹.txt"]) {
      expect(checkPlainFileName(name).ok, JSON.stringify(name)).toBe(false);
    }
  });

  it("refuses path tricks with the message a recipe author sees", () => {
    for (const name of ["..", ".", "a/b", "a\\b", "/etc/passwd", "../x.bin", "dir/", "\\\\server\\share"]) {
      expect(reasonFor(name), name).toBe("must be a plain file name (no / \\ or ..)");
    }
  });

  it("refuses the empty name", () => {
    expect(reasonFor("")).toBe("must not be empty");
  });

  it("refuses NUL and every other control character, naming where it is", () => {
    expect(reasonFor("a\u0000b")).toBe("must not contain control characters (found U+0000 at index 1)");
    for (let code = 0; code <= 0x1f; code++) expect(reasonFor(`a${String.fromCharCode(code)}`)).toMatch(/control/);
    expect(reasonFor("a\u007f")).toMatch(/U\+007F/);
  });

  it("refuses drive paths", () => {
    expect(reasonFor("C:x")).toBe('must not be a drive path (starts with "C:")');
    expect(reasonFor("c:")).toMatch(/drive path/);
  });

  it("refuses Windows device names in any case, with or without an extension", () => {
    const devices = ["CON", "PRN", "AUX", "NUL", "COM1", "COM9", "LPT1", "LPT9"];
    for (const device of devices) {
      for (const name of [device, device.toLowerCase(), `${device}.json`, `${device.toLowerCase()}.tar.gz`]) {
        expect(reasonFor(name), name).toBe(`must not be a Windows device name (${device})`);
      }
    }
    expect(reasonFor("con.json")).toBe("must not be a Windows device name (CON)");
    expect(reasonFor("nul .txt")).toMatch(/device name \(NUL\)/);
  });

  it("accepts names that only start like a device name", () => {
    for (const name of ["console.json", "COM10", "LPT0.bin", "aux_loss.json", "nul-model.bin"]) {
      expect(checkPlainFileName(name), name).toEqual({ ok: true });
    }
  });

  it("refuses a trailing dot or space, which Windows strips", () => {
    for (const name of ["a.", "a ", "config.json.", "config.json "]) {
      expect(reasonFor(name), name).toBe("must not end with a dot or space (Windows strips them)");
    }
  });

  it("allows 255 bytes of UTF-8 and no more", () => {
    expect(checkPlainFileName("a".repeat(255))).toEqual({ ok: true });
    expect(reasonFor("a".repeat(256))).toBe("must be at most 255 bytes in UTF-8, found 256");
    // 85 three-byte characters are 255 bytes; one more is 258 though only 86 characters long.
    expect(checkPlainFileName("模".repeat(85))).toEqual({ ok: true });
    expect(reasonFor("模".repeat(86))).toBe("must be at most 255 bytes in UTF-8, found 258");
  });

  it("refuses a lone surrogate, which cannot be written as the same name", () => {
    expect(reasonFor("a\ud800b")).toBe("must be valid Unicode (found a lone surrogate)");
    expect(checkPlainFileName("emoji-😀.json")).toEqual({ ok: true });
  });
});
