import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hashFile } from "./digests.js";
import { ChecksumListError, formatChecksumList, parseChecksumList } from "./md5sum-list.js";

const EXAMPLE_MD5 = "0d4a1185b59b5d2b5b17a3d1e7a1b2c4";
const EXAMPLE_SHA256 = "3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea";

/** Runs a coreutils tool in `cwd` and returns its stdout, the way a model card author would. */
function run(tool: string, args: string[], cwd: string): string {
  return execFileSync(tool, args, { cwd, encoding: "utf8" });
}

function md5sumCheck(cwd: string, list: string): { status: number | null; stdout: string } {
  const result = spawnSync("md5sum", ["-c", "-"], { cwd, input: list, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout };
}

/** Writes each named file with distinct content and returns its md5 entry, alternating modes. */
async function writeHashedFiles(cwd: string, names: readonly string[]) {
  const entries = [];
  for (const [index, name] of names.entries()) {
    await writeFile(join(cwd, name), `file ${index}`);
    const { md5 = "" } = await hashFile(join(cwd, name), ["md5"]);
    entries.push({ digest: md5, name, binary: index % 2 === 1 });
  }
  return entries;
}

/** coreutils 9 writes a CR in a name as \r; older releases (8.32 on Ubuntu 22.04) may not. */
function systemEscapesCarriageReturn(): boolean {
  const probeDir = mkdtempSync(join(tmpdir(), "md5-manifest-probe-"));
  try {
    writeFileSync(join(probeDir, "a\rb"), "");
    return run("md5sum", ["a\rb"], probeDir).startsWith("\\");
  } finally {
    rmSync(probeDir, { recursive: true, force: true });
  }
}
const escapesCarriageReturn = systemEscapesCarriageReturn();

function parseError(text: string, source?: string): ChecksumListError {
  try {
    parseChecksumList(text, source);
  } catch (error) {
    if (error instanceof ChecksumListError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "md5-manifest-list-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("parseChecksumList on real md5sum and sha256sum output", () => {
  beforeEach(async () => {
    await writeFile(join(dir, "config.json"), '{"model_type":"llama"}\n');
  });

  it("reads `md5sum f` as a text-mode entry", async () => {
    const { md5 } = await hashFile(join(dir, "config.json"), ["md5"]);
    expect(parseChecksumList(run("md5sum", ["config.json"], dir))).toEqual([
      { digest: md5, name: "config.json", binary: false },
    ]);
  });

  it("reads `md5sum -b f` as a binary-mode entry", async () => {
    const { md5 } = await hashFile(join(dir, "config.json"), ["md5"]);
    expect(parseChecksumList(run("md5sum", ["-b", "config.json"], dir))).toEqual([
      { digest: md5, name: "config.json", binary: true },
    ]);
  });

  it("drops the leading ./ that `md5sum ./f` prints, as model cards show it", () => {
    const [entry] = parseChecksumList(run("md5sum", ["./config.json"], dir));
    expect(entry?.name).toBe("config.json");
  });

  it("reads sha256sum output with its 64-digit digests", async () => {
    const { sha256 } = await hashFile(join(dir, "config.json"), ["sha256"]);
    expect(parseChecksumList(run("sha256sum", ["config.json"], dir))).toEqual([
      { digest: sha256, name: "config.json", binary: false },
    ]);
  });

  it("reads the BSD tag form that `md5sum --tag` and `sha256sum --tag` print", async () => {
    const { md5, sha256 } = await hashFile(join(dir, "config.json"), ["md5", "sha256"]);
    const text = ["md5sum", "sha256sum"].map((tool) => run(tool, ["--tag", "config.json"], dir));
    expect(parseChecksumList(text.join(""))).toEqual([
      { digest: md5, name: "config.json", binary: true },
      { digest: sha256, name: "config.json", binary: true },
    ]);
  });

  it("undoes GNU escaping of names with a backslash or a newline", async () => {
    const names = ["back\\slash.bin", "new\nline.bin", "plain name.bin"];
    for (const name of names) await writeFile(join(dir, name), name);
    const printed = run("md5sum", names, dir);
    expect(printed.split("\n").filter((line) => line.startsWith("\\"))).toHaveLength(2);
    expect(parseChecksumList(printed).map((entry) => entry.name)).toEqual(names);
    const tagged = run("md5sum", ["--tag", ...names], dir);
    expect(parseChecksumList(tagged).map((entry) => entry.name)).toEqual(names);
  });

  it.runIf(escapesCarriageReturn)("undoes the \\r escape coreutils 9 prints for a CR", async () => {
    const names = ["carriage\rreturn.bin", "trailing-cr\r"];
    for (const name of names) await writeFile(join(dir, name), name);
    expect(parseChecksumList(run("md5sum", names, dir)).map((entry) => entry.name)).toEqual(names);
  });
});

describe("parseChecksumList on pasted lists", () => {
  it("accepts CRLF endings, blank lines, # comments, indentation and upper-case digests", () => {
    const pasted = `  ${EXAMPLE_MD5.toUpperCase()}  ./config.json`;
    const text = `# from the model card\r\n\r\n${pasted}\r\n\r\n`;
    expect(parseChecksumList(text)).toEqual([
      { digest: EXAMPLE_MD5, name: "config.json", binary: false },
    ]);
  });

  it("accepts one blank between digest and name, as HTML-rendered model cards show it", () => {
    expect(parseChecksumList(`${EXAMPLE_SHA256} config.json`)).toEqual([
      { digest: EXAMPLE_SHA256, name: "config.json", binary: false },
    ]);
  });

  it("keeps spaces and a leading * that belong to the name", () => {
    expect(parseChecksumList(`${EXAMPLE_MD5}   lead.bin\n${EXAMPLE_MD5} **star.bin\n`)).toEqual([
      { digest: EXAMPLE_MD5, name: " lead.bin", binary: false },
      { digest: EXAMPLE_MD5, name: "*star.bin", binary: true },
    ]);
  });

  it("names the source and line, shows the expected form and quotes the bad input", () => {
    const text = `${EXAMPLE_MD5}  a.json\n\nzz  ./config.json\n`;
    const error = parseError(text, "card.md5");
    expect(error.message).toBe(
      'card.md5:3: expected "<32 or 64 hex digits>  <file name>", found "zz  ./config.json"',
    );
    expect(error).toMatchObject({ code: "CHECKSUM_LIST_INVALID", source: "card.md5", line: 3 });
  });

  it("rejects digests of other lengths, such as sha1's 40 digits", () => {
    expect(parseError(`${"a".repeat(40)}  model.safetensors`).line).toBe(1);
    expect(parseError(`MD5 (config.json) = ${EXAMPLE_SHA256}`).line).toBe(1);
  });

  it("rejects an unknown escape and an empty name", () => {
    expect(parseError(`\\${EXAMPLE_MD5}  bad\\tescape`).message).toMatch(/escaped as/);
    expect(parseError(`${EXAMPLE_MD5}  ./`).message).toMatch(/non-empty file name/);
  });

  it("shortens a long bad line to an excerpt", () => {
    const { message } = parseError(`not a checksum ${"x".repeat(500)}`);
    expect(message.length).toBeLessThan(200);
    expect(message).toMatch(/…"$/);
  });
});

describe("formatChecksumList", () => {
  it("writes what md5sum prints: two spaces for text mode, ' *' for binary", () => {
    expect(
      formatChecksumList([
        { digest: EXAMPLE_MD5.toUpperCase(), name: "config.json" },
        { digest: EXAMPLE_SHA256, name: "model.safetensors", binary: true },
      ]),
    ).toBe(`${EXAMPLE_MD5}  config.json\n${EXAMPLE_SHA256} *model.safetensors\n`);
  });

  it("writes nothing for no entries", () => {
    expect(formatChecksumList([])).toBe("");
  });

  it("writes lists md5sum -c accepts, even for names with a space, \\ or newline", async () => {
    const names = ["config.json", "with space.bin", "back\\slash.bin", "new\nline.bin"];
    const entries = await writeHashedFiles(dir, names);
    const list = formatChecksumList(entries);

    const accepted = md5sumCheck(dir, list);
    expect(accepted.status).toBe(0);
    expect(accepted.stdout.match(/: OK$/gm)).toHaveLength(names.length);
    expect(parseChecksumList(list)).toEqual(entries);

    await writeFile(join(dir, "back\\slash.bin"), "altered");
    const rejected = md5sumCheck(dir, list);
    expect(rejected.status).toBe(1);
    expect(rejected.stdout).toContain("back\\slash.bin: FAILED");
  });

  it("escapes a carriage return so that CRLF tolerance cannot eat one ending a name", () => {
    const entries = [{ digest: EXAMPLE_MD5, name: "trailing-cr\r", binary: false }];
    const list = formatChecksumList(entries);
    expect(list).toBe(`\\${EXAMPLE_MD5}  trailing-cr\\r\n`);
    expect(parseChecksumList(list)).toEqual(entries);
  });

  it.runIf(escapesCarriageReturn)("writes CRs in names as coreutils 9 reads them", async () => {
    const entries = await writeHashedFiles(dir, ["carriage\rreturn.bin", "trailing-cr\r"]);
    const accepted = md5sumCheck(dir, formatChecksumList(entries));
    expect(accepted.status).toBe(0);
    expect(accepted.stdout.match(/: OK$/gm)).toHaveLength(entries.length);
  });

  it("refuses to write a digest md5sum -c could not read, or an empty name", () => {
    expect(() => formatChecksumList([{ digest: "abc", name: "a" }])).toThrow(
      'entries:1: expected "<32 or 64 hex digits>", found "abc"',
    );
    expect(() => formatChecksumList([{ digest: EXAMPLE_MD5, name: "" }])).toThrow(
      ChecksumListError,
    );
  });
});
