import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkPlainFileName, encFileName, parseEncFileName } from "./index.js";

const sha256 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString("hex"));
const anyName = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.constantFrom("..", ".", "a/b", "a\\b", "con", "NUL.json", "C:x", "x\u0000y", "a.", "a ", "/etc/passwd"));

describe("file names from recipes and releases", () => {
  it("round-trips every safe plain name through its .enc name", () => {
    fc.assert(
      fc.property(anyName, sha256, (name, digest) => {
        if (!checkPlainFileName(name).ok || Buffer.byteLength(name) > 186) return;
        const parsed = parseEncFileName(encFileName(name, digest));
        expect(parsed).toEqual({ ok: true, value: { plainName: name, sha256: digest } });
      }),
      { numRuns: 2000 },
    );
  });

  it("never accepts a name that could leave its folder", () => {
    fc.assert(
      fc.property(anyName, (name) => {
        if (!checkPlainFileName(name).ok) return;
        expect(name).not.toMatch(/[/\\\u0000]/);
        expect(name === "." || name === "..").toBe(false);
      }),
      { numRuns: 5000 },
    );
  });

  it("never parses an .enc name to an unsafe plain name", () => {
    fc.assert(
      fc.property(anyName, sha256, (name, digest) => {
        const parsed = parseEncFileName(`${name}.${digest}.enc`);
        if (parsed.ok) expect(checkPlainFileName(parsed.value.plainName).ok).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
