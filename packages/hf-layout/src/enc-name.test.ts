import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { encFileName, parseEncFileName } from "./enc-name.js";
import { LayoutError } from "./errors.js";

// The nine .enc names of BELLE-LLaMA-13B-2M-enc, copied from its model card.
const BELLE_13B_2M_CARD: ReadonlyArray<readonly [plainName: string, sha256: string]> = [
  ["config.json", "e366f0c901ee336cb921450f975b3e3c5e32874035d227f4263dbcb5d966b822"],
  ["generation_config.json", "fd7ff399e5568cc21a0a8414f43df88ef7c424995b9b97a90563165d2cf79efd"],
  ["pytorch_model-00001-of-00003.bin", "5abb160ecbd441c6a1fbe00a9eaa194ee0bd8cd75850c24f503336bd29f0dc45"],
  ["pytorch_model-00002-of-00003.bin", "46a0e748edff9f0f82aa5f3e721e80e0f342f3d03dc47d0ec6514ea78a585320"],
  ["pytorch_model-00003-of-00003.bin", "ec6e4d45dc4c51f2b9abff5ea9840f06f633e065cdf574b71e96366c26a01578"],
  ["pytorch_model.bin.index.json", "72e91e29282dae48ea5562fcf4d6ca0d5a9c2a30ebc8d67174a19e192552a20b"],
  ["special_tokens_map.json", "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"],
  ["tokenizer_config.json", "ef7ef410b9b909949e96f172b17cbf7c68b11761c632715fa05a6088c0c2b9ac"],
  ["tokenizer.model", "9e556afd44213b6bd1be2b850ebbbd98f5481437a8021afaf58ee7fb1818d347"],
];
const BELLE_13B_2M_ENC = BELLE_13B_2M_CARD.map(([plainName, sha256]) => [`${plainName}.${sha256}.enc`, plainName, sha256] as const);

const HEX = "e366f0c901ee336cb921450f975b3e3c5e32874035d227f4263dbcb5d966b822";

function reasonFor(fileName: string): string {
  const result = parseEncFileName(fileName);
  if (result.ok) throw new Error(`expected ${JSON.stringify(fileName)} to be refused`);
  return result.reason;
}

describe("parseEncFileName", () => {
  it("reads the plain name and digest of every BELLE-LLaMA-13B-2M-enc file (spec §1, §5)", () => {
    expect(BELLE_13B_2M_ENC).toHaveLength(9);
    for (const [fileName, plainName, sha256] of BELLE_13B_2M_ENC) {
      expect(parseEncFileName(fileName), fileName).toEqual({ ok: true, value: { plainName, sha256 } });
    }
  });

  it("reads the spec's own example", () => {
    expect(parseEncFileName(`config.json.${HEX}.enc`)).toEqual({ ok: true, value: { plainName: "config.json", sha256: HEX } });
  });

  it("leaves the files of a release that are not encrypted alone", () => {
    expect(reasonFor("README.md")).toBe('name does not end in ".enc"');
    expect(reasonFor(".gitattributes")).toBe('name does not end in ".enc"');
    expect(reasonFor(`config.json.${HEX}.ENC`)).toBe('name does not end in ".enc"');
  });

  it("refuses an .enc name without a 64-hex digest before the suffix", () => {
    const expected = 'name has no 64-hex sha256 before ".enc" (expected <plain name>.<sha256>.enc)';
    for (const fileName of ["model.enc", ".enc", `${HEX}.enc`, `config.json.${HEX.slice(1)}.enc`, `config.json.${HEX}0.enc`]) {
      expect(reasonFor(fileName), fileName).toBe(expected);
    }
    expect(reasonFor(`config.json.${"g".repeat(64)}.enc`)).toBe(expected);
  });

  it("refuses an uppercase digest: the published script writes lowercase", () => {
    expect(reasonFor(`config.json.${HEX.toUpperCase()}.enc`)).toBe(`sha256 "${HEX.toUpperCase()}" must be lowercase hex`);
  });

  it("refuses an empty plain name", () => {
    expect(reasonFor(`.${HEX}.enc`)).toBe("plain name before the sha256 is empty");
  });

  it("refuses a plain name that is not a safe plain file name", () => {
    expect(reasonFor(`...${HEX}.enc`)).toBe('plain name ".." must be a plain file name (no / \\ or ..)');
    expect(reasonFor(`a/b.${HEX}.enc`)).toBe('plain name "a/b" must be a plain file name (no / \\ or ..)');
    expect(reasonFor(`con.json.${HEX}.enc`)).toBe('plain name "con.json" must not be a Windows device name (CON)');
    expect(reasonFor(`a\u0000b.${HEX}.enc`)).toMatch(/^plain name "a\\u0000b" must not contain control characters/);
  });

  it("refuses a name too long for a file system even when its plain name is not", () => {
    expect(reasonFor(`${"a".repeat(200)}.${HEX}.enc`)).toBe("name must be at most 255 bytes in UTF-8, found 269");
  });
});

describe("encFileName", () => {
  it("builds the names of the BELLE-LLaMA-13B-2M-enc release", () => {
    for (const [fileName, plainName, sha256] of BELLE_13B_2M_ENC) expect(encFileName(plainName, sha256)).toBe(fileName);
  });

  it("round-trips with parseEncFileName for plain names of every shape", () => {
    const plainNames = ["a", "config.json", "x.enc", `nested.${HEX}.enc`, "模型.bin", "a..b", ".gitattributes", "a".repeat(186)];
    for (const [seed, plainName] of plainNames.entries()) {
      const sha256 = createHash("sha256").update(`seed ${seed}`).digest("hex");
      const fileName = encFileName(plainName, sha256);
      expect(parseEncFileName(fileName), fileName).toEqual({ ok: true, value: { plainName, sha256 } });
    }
  });

  it("throws LayoutError for an unsafe plain name, naming it", () => {
    for (const plainName of ["..", "a/b", "a\\b", "/etc/passwd", "C:x", "con.json", "NUL", "a\u0000b", "a.", ""]) {
      expect(() => encFileName(plainName, HEX), JSON.stringify(plainName)).toThrow(LayoutError);
    }
    expect(() => encFileName("../x.bin", HEX)).toThrow('"../x.bin" must be a plain file name (no / \\ or ..)');
  });

  it("throws LayoutError with code LAYOUT_INVALID for a digest that is not 64 lowercase hex", () => {
    for (const sha256 of ["", HEX.toUpperCase(), HEX.slice(2), `${HEX}00`, "z".repeat(64)]) {
      expect(() => encFileName("config.json", sha256), sha256).toThrow(/must be 64 lowercase hex digits/);
    }
    try {
      encFileName("config.json", "nope");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(LayoutError);
      expect((error as LayoutError).code).toBe("LAYOUT_INVALID");
    }
  });

  it("throws when the .enc name would not fit in 255 bytes", () => {
    expect(() => encFileName("a".repeat(187), HEX)).toThrow(/at most 255 bytes in UTF-8, found 256/);
  });
});
