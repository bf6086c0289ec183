import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BaseCheckpoint, Recipe } from "@model-recover/pipeline";
import { buildBelleShapedRelease, type BuiltRelease } from "../support/belle-shaped-release.js";
import { modelRecover, system, type CliRun } from "../support/cli.js";

const SHARD_1 = "pytorch_model-00001-of-00003.bin";
const SHARD_2 = "pytorch_model-00002-of-00003.bin";
const ENC_HEADER_BYTES = 32;

let dir: string;
let release: BuiltRelease;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mr-e2e-failures-"));
  release = await buildBelleShapedRelease(dir, { shardBytes: 30_000_000 });
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

// ---- the release and copies of it -------------------------------------------------------------

/** `<name>.<sha256>.enc` as the recipe names it (spec §1). */
function encName(plainName: string): string {
  const entry = release.recipe.files.find((f) => f.name === plainName);
  if (!entry || entry.clear) throw new Error(`${plainName} is not an encrypted file of the release`);
  return `${plainName}.${entry.sha256}.enc`;
}

function recipeEntry(plainName: string) {
  const entry = release.recipe.files.find((f) => f.name === plainName);
  if (!entry) throw new Error(`${plainName} is not in the recipe`);
  return entry;
}

/** A case's own copy of the release folder, so what it corrupts no other case sees. */
async function copyRelease(caseName: string): Promise<string> {
  const encDir = join(dir, caseName, "enc");
  await cp(release.encDir, encDir, { recursive: true });
  return encDir;
}

/** A case's own, not yet existing, output folder. */
const outFor = (caseName: string) => join(dir, caseName, "out");

/** Invert one byte in place, as a bad disk or a broken download would. */
async function corruptByteAt(path: string, offset: number): Promise<void> {
  const handle = await open(path, "r+");
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

/** A copy of the recipe changed by `change`, written where the case can pass its path. */
async function writeRecipeVariant(fileName: string, change: (recipe: Recipe) => void): Promise<string> {
  const recipe = structuredClone(release.recipe);
  change(recipe);
  const path = join(dir, "recipes", fileName);
  await mkdir(join(dir, "recipes"), { recursive: true });
  await writeFile(path, `${JSON.stringify(recipe, null, 2)}\n`);
  return path;
}

function recoverInto(encDir: string, out: string, options: { recipe?: string; base?: string } = {}): Promise<CliRun> {
  return modelRecover(["recover", options.recipe ?? release.recipePath, "--base", options.base ?? release.basePath, "--enc", encDir, "--out", out]);
}

// ---- what every failure must look like ---------------------------------------------------------

/** Exactly one `model-recover: ...` line, no stack trace, no internal error; returns that line. */
function theErrorLine(run: CliRun): string {
  expect(run.stderr).not.toMatch(/unexpected error/);
  expect(run.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  const lines = run.stderr.split("\n").filter((line) => line.startsWith("model-recover: "));
  expect(lines, run.stderr).toHaveLength(1);
  return lines[0]!;
}

/** The `FAILED <name>: ...` line a file that did not verify gets (the run goes on with the others). */
function theFailedLine(run: CliRun, plainName: string): string {
  expect(run.stderr).not.toMatch(/unexpected error/);
  expect(run.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  const lines = run.stderr.split("\n").filter((line) => line.startsWith("FAILED "));
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toContain(`FAILED ${plainName}: `);
  return lines[0]!;
}

async function filesUnder(folder: string): Promise<string[]> {
  if (!existsSync(folder)) return [];
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** No `.<name>.model-recover-partial` left behind, and every recipe name in --out holds the card's md5. */
async function expectNothingUnverifiedUnderFinalNames(out: string): Promise<void> {
  const files = await filesUnder(out);
  expect(files.filter((f) => f.endsWith(".model-recover-partial"))).toEqual([]);
  for (const entry of release.recipe.files) {
    const path = join(out, entry.name);
    if (!existsSync(path)) continue;
    const md5 = createHash("md5").update(await readFile(path)).digest("hex");
    expect(md5, `${entry.name} is under its final name with content that does not verify`).toBe(entry.md5);
  }
}

/** A failure found before any work: --out holds no file at all (an empty folder at most). */
async function expectNothingWritten(out: string): Promise<void> {
  expect(await filesUnder(out)).toEqual([]);
}

/** The system's `md5sum -c` over the card's list of recovered files, less the ones that failed. */
async function expectMd5sumAccepts(out: string, except: string[]): Promise<void> {
  const lines = (await readFile(release.plainList, "utf8")).trim().split("\n");
  const kept = lines.filter((line) => !except.some((name) => line.endsWith(`  ./${name}`)));
  expect(kept).toHaveLength(lines.length - except.length);
  const list = join(out, "..", "expected.md5");
  await writeFile(list, `${kept.join("\n")}\n`);
  const check = await system("md5sum", ["-c", list], out);
  expect(check.stdout.trim().split("\n")).toHaveLength(kept.length);
  expect(check.code, check.stdout + check.stderr).toBe(0);
}

// ---- the cases ---------------------------------------------------------------------------------

describe("model-recover recover with a damaged release folder", () => {
  it("names the missing .enc file and writes nothing when one is not downloaded", async () => {
    const encDir = await copyRelease("missing-enc");
    await rm(join(encDir, encName(SHARD_2)));
    const out = outFor("missing-enc");
    const run = await recoverInto(encDir, out);
    expect(run.code).toBe(4);
    const line = theErrorLine(run);
    expect(line).toContain(encName(SHARD_2));
    expect(line).toMatch(/1 of 9 encrypted files missing/);
    expect(line).toMatch(/download them again/);
    expect(existsSync(out)).toBe(false);
  });

  it("gives the expected and the found size of a truncated .enc when the recipe knows the size", async () => {
    const encDir = await copyRelease("truncated-known-size");
    const source = join(encDir, encName(SHARD_2));
    await truncate(source, 1_000_000);
    const out = outFor("truncated-known-size");
    const run = await recoverInto(encDir, out);
    expect(run.code).toBe(4);
    const line = theErrorLine(run);
    expect(line).toContain(source);
    expect(line).toContain(`should be of size ${recipeEntry(SHARD_2).size! + ENC_HEADER_BYTES} but has size 1000000`);
    expect(line).toMatch(/download it again/);
    await expectNothingWritten(out);
  });

  it("blames the download of a truncated .enc whose size the recipe does not know, by its md5, and still recovers the rest", async () => {
    const encDir = await copyRelease("truncated-unknown-size");
    const source = join(encDir, encName(SHARD_2));
    await truncate(source, 1_000_000);
    const recipe = await writeRecipeVariant("no-size-for-shard-2.json", (r) => {
      delete r.files.find((f) => f.name === SHARD_2)!.size;
    });
    const out = outFor("truncated-unknown-size");
    const run = await recoverInto(encDir, out, { recipe });
    expect(run.code).toBe(5);
    const line = theFailedLine(run, SHARD_2);
    const entry = recipeEntry(SHARD_2);
    expect(line).toContain(`${source} is corrupt`);
    expect(line).toContain(`the card says ${!entry.clear && entry.encMd5}`);
    expect(line).toMatch(/download it again/);
    expect(run.stdout).toMatch(/1 of 10 files did not verify/);
    expect(existsSync(join(out, SHARD_2))).toBe(false);
    await expectNothingUnverifiedUnderFinalNames(out);
    await expectMd5sumAccepts(out, [SHARD_2]);
  });

  it("keeps a shard with one flipped payload byte out of --out, gives the .enc md5 found and the card's, and recovers the others", async () => {
    const encDir = await copyRelease("flipped-payload");
    const source = join(encDir, encName(SHARD_1));
    await corruptByteAt(source, ENC_HEADER_BYTES + Math.floor(recipeEntry(SHARD_1).size! / 2));
    const found = createHash("md5").update(await readFile(source)).digest("hex");
    const out = outFor("flipped-payload");
    const run = await recoverInto(encDir, out);
    expect(run.code).toBe(5);
    const line = theFailedLine(run, SHARD_1);
    const entry = recipeEntry(SHARD_1);
    expect(line).toContain(`${source} is corrupt: md5 ${found}, the card says ${!entry.clear && entry.encMd5}`);
    expect(line).toMatch(/download it again/);
    expect(existsSync(join(out, SHARD_1))).toBe(false);
    await expectNothingUnverifiedUnderFinalNames(out);
    await expectMd5sumAccepts(out, [SHARD_1]);
  });

  it("does not leave a corrupt shard an earlier tool wrote under its final name when that shard fails again (spec §1, what went wrong)", async () => {
    const encDir = await copyRelease("stale-output");
    await corruptByteAt(join(encDir, encName(SHARD_1)), ENC_HEADER_BYTES + 12_345);
    const out = outFor("stale-output");
    await mkdir(out, { recursive: true });
    // The published script leaves its failed output under the final name; same size, wrong bytes.
    await writeFile(join(out, SHARD_1), Buffer.alloc(recipeEntry(SHARD_1).size!, 0));
    const run = await recoverInto(encDir, out);
    expect(run.code).toBe(5);
    expect(theFailedLine(run, SHARD_1)).toMatch(/download it again/);
    expect(run.stdout).toMatch(/nothing unverified was kept under a final name/);
    await expectNothingUnverifiedUnderFinalNames(out);
  });

  it("refuses a .enc whose header no longer matches the sha256 in its name (spec §1)", async () => {
    const encDir = await copyRelease("flipped-header");
    const source = join(encDir, encName("tokenizer.model"));
    await corruptByteAt(source, 5);
    const out = outFor("flipped-header");
    const run = await recoverInto(encDir, out);
    expect(run.code).toBe(4);
    const line = theErrorLine(run);
    expect(line).toContain(source);
    expect(line).toMatch(/header holds sha256 [0-9a-f]{64} but the name says [0-9a-f]{64}/);
    expect(line).toMatch(/download it again/);
    await expectNothingWritten(out);
  });

  it("recovers a folder that also holds a .gitattributes and a partial download, naming each as left alone", async () => {
    const encDir = await copyRelease("extras");
    await writeFile(join(encDir, ".gitattributes"), "*.enc filter=lfs diff=lfs merge=lfs -text\n");
    await writeFile(join(encDir, "foo.bin.incomplete"), Buffer.alloc(4096, 7));
    const out = outFor("extras");
    const run = await recoverInto(encDir, out);
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^not part of the release, left alone: \.gitattributes$/m);
    expect(run.stderr).toMatch(/^not part of the release, left alone: foo\.bin\.incomplete$/m);
    const written = await readdir(out);
    expect(written).not.toContain(".gitattributes");
    expect(written).not.toContain("foo.bin.incomplete");
    await expectNothingUnverifiedUnderFinalNames(out);
    await expectMd5sumAccepts(out, []);
  });

  it("says the --enc folder is not there when it is missing", async () => {
    const encDir = join(dir, "no-enc", "BELLE-LLaMA-13B-2M-enc");
    const out = outFor("no-enc");
    const run = await recoverInto(encDir, out);
    expect(run.code).toBe(4);
    const line = theErrorLine(run);
    expect(line).toContain(`${encDir}: folder not found`);
    expect(line).toMatch(/pass --enc/);
    await expectNothingWritten(out);
  });
});

describe("model-recover recover with the wrong base checkpoint", () => {
  const baseTitle = () => (release.recipe.base as BaseCheckpoint).title;

  it("says a base of the right size but other bytes is not the key, names the base the recipe needs, and writes nothing", async () => {
    const base = join(dir, "other-base.pth");
    const bytes = await readFile(release.basePath);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = bytes[i]! ^ 0x5a;
    await writeFile(base, bytes);
    expect((await stat(base)).size).toBe((release.recipe.base as BaseCheckpoint).size);
    const out = outFor("other-base");
    const run = await recoverInto(release.encDir, out, { base });
    expect(run.code).toBe(4);
    const line = theErrorLine(run);
    expect(line).toContain(`${base}: not the key for ${release.recipe.title}`);
    expect(line).toContain(`use ${baseTitle()}`);
    await expectNothingWritten(out);
  });

  it("refuses a base of another size than the recipe's, with both sizes", async () => {
    const base = join(dir, "short-base.pth");
    await writeFile(base, (await readFile(release.basePath)).subarray(0, 1_000_000));
    const out = outFor("short-base");
    const run = await recoverInto(release.encDir, out, { base });
    expect(run.code).toBe(4);
    const line = theErrorLine(run);
    expect(line).toContain(`${base}: base should be of size ${(release.recipe.base as BaseCheckpoint).size} but has size 1000000`);
    expect(line).toContain(baseTitle());
    await expectNothingWritten(out);
  });

  it("refuses an empty base (the published script crashes on it, spec §1)", async () => {
    const base = join(dir, "empty-base.pth");
    await writeFile(base, "");
    const out = outFor("empty-base");
    const run = await recoverInto(release.encDir, out, { base });
    expect(run.code).toBe(4);
    const line = theErrorLine(run);
    expect(line).toContain(base);
    expect(line).toMatch(/empty \(0 bytes\)/);
    expect(line).toContain(baseTitle());
    await expectNothingWritten(out);
  });

  it("says the base is not found when its path does not exist", async () => {
    const base = join(dir, "nowhere", "consolidated.00.pth");
    const out = outFor("missing-base");
    const run = await recoverInto(release.encDir, out, { base });
    expect(run.code).toBe(4);
    const line = theErrorLine(run);
    expect(line).toContain(`${base}: base checkpoint not found`);
    expect(line).toContain(baseTitle());
    await expectNothingWritten(out);
  });

  it("refuses a folder given as --base that holds no base checkpoint", async () => {
    const base = join(dir, "llama", "empty");
    await mkdir(base, { recursive: true });
    const out = outFor("folder-base");
    const run = await recoverInto(release.encDir, out, { base });
    expect(run.code).toBe(4);
    const line = theErrorLine(run);
    expect(line).toContain(base);
    expect(line).toMatch(/no consolidated\.00\.pth in this folder; .* pass it with --base <file>/);
    await expectNothingWritten(out);
  });
});

describe("model-recover recover with an invalid recipe", () => {
  const shard1Index = () => release.recipe.files.findIndex((f) => f.name === SHARD_1);

  const variants: { title: string; file: string; write: () => Promise<string>; says: (file: string) => RegExp | string }[] = [
    {
      title: "text that is not JSON",
      file: "not-json.json",
      write: async () => {
        const path = join(dir, "recipes", "not-json.json");
        await mkdir(join(dir, "recipes"), { recursive: true });
        await writeFile(path, '{ "name": "belle-13b-2m-shaped", ');
        return path;
      },
      says: (file) => `${file}: not valid JSON`,
    },
    {
      title: "an unknown key at the top level",
      file: "unknown-key.json",
      write: () => writeRecipeVariant("unknown-key.json", (r) => Object.assign(r, { mirror: "https://example.org" })),
      says: (file) => `${file}: /: unknown key "mirror" (allowed: `,
    },
    {
      title: "a file name that climbs out of --out",
      file: "climbing-name.json",
      write: () => writeRecipeVariant("climbing-name.json", (r) => {
        r.files[shard1Index()]!.name = "../evil";
      }),
      says: (file) => `${file}: /files/${shard1Index()}/name: "../evil" must be a plain file name`,
    },
    {
      title: "an md5 that is not 32 hex digits",
      file: "short-md5.json",
      write: () => writeRecipeVariant("short-md5.json", (r) => {
        r.files[shard1Index()]!.md5 = "abc123";
      }),
      says: (file) => `${file}: /files/${shard1Index()}/md5: "abc123" must be 32 lowercase hex digits`,
    },
    {
      title: "a file named twice",
      file: "duplicate-name.json",
      write: () => writeRecipeVariant("duplicate-name.json", (r) => {
        r.files[shard1Index() + 1]!.name = SHARD_1;
      }),
      says: (file) => `${file}: /files/${shard1Index() + 1}/name: "${SHARD_1}" appears twice`,
    },
    {
      title: "two names that differ only in case",
      file: "case-clash.json",
      write: () => writeRecipeVariant("case-clash.json", (r) => {
        r.files[shard1Index() + 1]!.name = SHARD_1.toUpperCase();
      }),
      says: (file) => `${file}: /files/${shard1Index() + 1}/name: "${SHARD_1.toUpperCase()}" is the same file as "${SHARD_1}" on case-insensitive or normalizing file systems (macOS, Windows)`,
    },
  ];

  for (const variant of variants) {
    it(`exits 3 on ${variant.title}, naming the recipe file, the JSON path and what was expected, and creates nothing`, async () => {
      const recipe = await variant.write();
      const out = outFor(`recipe-${variant.file}`);
      const run = await recoverInto(release.encDir, out, { recipe });
      expect(run.code).toBe(3);
      expect(theErrorLine(run)).toContain(`model-recover: ${variant.says(recipe)}`);
      expect(existsSync(out)).toBe(false);
    });
  }
});

describe("model-recover recover on a disk without room", () => {
  const asRootOnLinux = process.getuid?.() === 0 && process.platform === "linux";

  it.runIf(asRootOnLinux)("says how much is needed and how much is free before writing, on a 2 MB tmpfs", async () => {
    const mountPoint = join(dir, "tiny-disk");
    await mkdir(mountPoint);
    const mounted = await system("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint], dir);
    expect(mounted.code, mounted.stderr).toBe(0);
    try {
      const out = join(mountPoint, "out");
      const run = await recoverInto(release.encDir, out);
      expect(run.code).toBe(4);
      const line = theErrorLine(run);
      expect(line).toMatch(new RegExp(`${out}: not enough room: the outputs need .+ \\(\\d+ bytes\\) but only .+ \\(\\d+ bytes\\) is free`));
      expect(line).toMatch(/free some space or pass another --out/);
      await expectNothingWritten(out);
    } finally {
      await system("umount", [mountPoint], dir);
    }
  });
});

describe("model-recover command line", () => {
  it("exits 2 when no recipe is given", async () => {
    const run = await modelRecover(["recover", "--base", release.basePath, "--enc", release.encDir]);
    expect(run.code).toBe(2);
    expect(theErrorLine(run)).toMatch(/expected one recipe, found 0.*--help/);
  });

  it("exits 2 on an unknown flag, naming it", async () => {
    const run = await modelRecover(["recover", release.recipePath, "--bsae", release.basePath]);
    expect(run.code).toBe(2);
    expect(theErrorLine(run)).toMatch(/--bsae.*--help/);
  });

  it("exits 2 on an unknown command, listing the commands", async () => {
    const run = await modelRecover(["recovr", release.recipePath]);
    expect(run.code).toBe(2);
    expect(theErrorLine(run)).toMatch(/unknown command "recovr"; expected one of: recover, pack/);
  });

  it("documents --base, --enc, --out, their environment variables and the exit codes in recover --help", async () => {
    const run = await modelRecover(["recover", "--help"]);
    expect(run.code).toBe(0);
    for (const flag of ["--base", "--enc", "--out"]) expect(run.stdout).toContain(flag);
    for (const variable of ["MODEL_RECOVER_BASE", "MODEL_RECOVER_ENC", "MODEL_RECOVER_OUT"]) expect(run.stdout).toContain(variable);
    expect(run.stdout).toMatch(/Exit codes: 0 all verified, 2 bad usage, 3 invalid recipe, 4 bad input[\s\S]*5 a file did not verify/);
    const top = await modelRecover(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/recover <recipe>/);
    expect(top.stdout).toMatch(/Exit codes:/);
  });

  it("exits 4 on a recipe name that is not under manifests/, and suggests only commands that exist", async () => {
    const run = await modelRecover(["recover", "belle-13b-2m-shaped-nope", "--base", release.basePath, "--enc", release.encDir]);
    expect(run.code).toBe(4);
    const line = theErrorLine(run);
    expect(line).toMatch(/no recipe named "belle-13b-2m-shaped-nope"/);
    expect(line).toMatch(/pass a path to a recipe file/);
    for (const [, suggested] of line.matchAll(/`model-recover ([^`]+)`/g)) {
      const followed = await modelRecover(suggested!.split(" "));
      expect(followed.code, `the message suggests \`model-recover ${suggested}\`, which says: ${followed.stderr.trim()}`).not.toBe(2);
    }
  });
});
