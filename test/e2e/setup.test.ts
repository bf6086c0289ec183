import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, system, type CliRun } from "../support/cli.js";
import { cleanClone, which } from "../support/clean-clone.js";

// The README's "Set up" block, one command a line, without the comments.
const readme = await readFile(join(repoRoot, "README.md"), "utf8");
const setUpBlock = /## Set up\n\n```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
const [firstCommand = "", secondCommand = ""] = setUpBlock.trim().split("\n").map((line) => line.replace(/\s+#.*$/, ""));
const nobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

/** A folder for PATH that holds only the programs named: a fresh machine with Node.js 20 and nothing else. */
async function binWith(dir: string, programs: string[]): Promise<string> {
  await mkdir(dir);
  for (const program of programs) await symlink(which(program), join(dir, program));
  return dir;
}

/** The environment of a new shell with that PATH: nothing of `pnpm test`, which runs this file (npm_*, INIT_CWD, turbo's and vitest's variables). */
function freshShellEnv(path: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: path };
  for (const key of Object.keys(env)) if (/^(npm_|pnpm_|turbo_|vitest|model_recover_|corepack_)|^(INIT_CWD|NODE_ENV)$/i.test(key)) delete env[key];
  return env;
}

/** A command line as a user types it, through /bin/sh. */
function sh(command: string, cwd: string, env: NodeJS.ProcessEnv, user: { uid?: number; gid?: number } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile("/bin/sh", ["-c", command], { cwd, env, ...user, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe("the README's set-up commands on a machine with Node.js 20 and no pnpm", () => {
  let dir: string;
  let clone: string;
  let nodeOnly: string;
  let firstRun: CliRun;
  const md5List = () => join(dir, "demo.md5");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mr-setup-"));
    // Readable by the unprivileged user that runs the second command below.
    await chmod(dir, 0o755);
    clone = await cleanClone(join(dir, "clone"));
    // npm's install scripts run `sh`; a machine without one is not a machine.
    nodeOnly = await binWith(join(dir, "bin"), ["node", "npm", "sh"]);
    const demo = JSON.parse(await readFile(join(clone, "manifests", "demo.json"), "utf8")) as { files: { name: string; md5: string }[] };
    await writeFile(md5List(), demo.files.map((file) => `${file.md5}  ${file.name}\n`).join(""));
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("the README shows two commands, and .ci/run runs the second one verbatim", async () => {
    expect(firstCommand).toBe("node scripts/setup.mjs demo");
    expect(secondCommand).toBe("node scripts/setup.mjs test");
    const ciRun = (await readFile(join(repoRoot, ".ci", "run"), "utf8")).split("\n");
    expect(ciRun).toContain(secondCommand);
  });

  it("has no pnpm on the PATH it is tried with", async () => {
    const lookup = await sh("command -v pnpm", clone, freshShellEnv(nodeOnly));
    expect(lookup.code).not.toBe(0);
  });

  it("the first command, in a clean clone, installs pnpm 12.4.2 and the dependencies and recovers the demo, which md5sum -c verifies", async () => {
    firstRun = await sh(firstCommand, clone, freshShellEnv(nodeOnly));
    expect(firstRun.code, firstRun.stderr).toBe(0);
    expect(firstRun.stderr).toContain(`setup: pnpm 12.4.2 is not on PATH: installing it into ${join(clone, ".tools")}`);
    const check = await system("md5sum", ["-c", md5List()], join(clone, "out", "demo"));
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout.trim().split("\n")).toHaveLength(9);
  }, 600_000);

  it("ends with the line that puts that pnpm on PATH, after which the README's pnpm commands work", async () => {
    const exportLine = /export PATH="(.+):\$PATH"$/m.exec(firstRun.stderr);
    expect(exportLine?.[1]).toBe(join(clone, ".tools", "bin"));
    const list = await sh("pnpm model-recover list", clone, freshShellEnv(`${exportLine![1]}:${nodeOnly}`));
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^demo\b/m);
  });

  it("run again, installs nothing twice and finds the demo in turbo's cache", async () => {
    const installed = join(clone, ".tools", "lib", "node_modules", "pnpm", "package.json");
    const before = await stat(installed);
    const run = await sh(firstCommand, clone, freshShellEnv(nodeOnly));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain("installing");
    expect((await stat(installed)).mtimeMs).toBe(before.mtimeMs);
    expect(run.stdout).not.toContain("Packages: +");
    expect(run.stderr).toContain("model-recover: turbo cache hit: demo was recovered and verified from these very inputs before");
  }, 300_000);

  it("works with corepack's pnpm on PATH, which cannot fetch pnpm 12 (corepack enable, the issue's dead end)", async () => {
    const shims = join(dir, "corepack");
    await mkdir(shims);
    const enabled = await system(which("corepack"), ["enable", "--install-directory", shims, "pnpm"], dir);
    expect(enabled.code, enabled.stderr).toBe(0);
    const corepackPnpm = await sh("pnpm --version", clone, freshShellEnv(`${shims}:${nodeOnly}`));
    expect(corepackPnpm.code).not.toBe(0);
    // Asked its version, the shim must not download pnpm 12 each run, to fail its signature and leave the unpacked tarball (5 MB) in corepack's cache.
    const corepackHome = join(dir, "corepack-home");
    const run = await sh(firstCommand, clone, { ...freshShellEnv(`${shims}:${nodeOnly}`), COREPACK_HOME: corepackHome });
    expect(run.code, run.stderr).toBe(0);
    expect((await system("md5sum", ["-c", md5List()], join(clone, "out", "demo"))).code).toBe(0);
    const downloaded = await readdir(corepackHome, { recursive: true, withFileTypes: true }).catch(() => []);
    expect(downloaded.filter((entry) => entry.isFile()).map((entry) => entry.name)).toEqual([]);
  }, 300_000);

  it("uses a pnpm 12.4.2 already on PATH, and says nothing of .tools", async () => {
    const withPnpm = await binWith(join(dir, "with-pnpm"), ["node", "npm", "sh", "pnpm"]);
    const run = await sh(firstCommand, clone, freshShellEnv(withPnpm));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain(".tools");
    expect((await system("md5sum", ["-c", md5List()], join(clone, "out", "demo"))).code).toBe(0);
  }, 300_000);

  it("the second command, without root or sudo, says in one line what to run as root, and exits 1", async () => {
    // apt-get is there, md5sum is not (nor sudo): what a user without root meets on a bare Debian.
    const bin = await binWith(join(dir, "apt-only"), ["node", "apt-get"]);
    const run = await sh(secondCommand, clone, freshShellEnv(bin), nobody);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      "setup: the tests need coreutils (md5sum, sha256sum) and Debian's python3-torch (missing: md5sum, sha256sum), and installing them needs root; as root, run: apt-get update && apt-get install -y coreutils python3 python3-torch\n",
    );
  });

  it("the second command, where there is no apt-get, names what to install and the portable tests", async () => {
    const run = await sh(secondCommand, clone, freshShellEnv(nodeOnly));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^setup: the tests need coreutils \(md5sum, sha256sum\) and Debian's python3-torch \(missing: md5sum, sha256sum\) and there is no apt-get here: .*pnpm test:portable.*\n$/);
  });

  it("rejects a verb it does not know, with its usage, exit 2", async () => {
    const run = await sh("node scripts/setup.mjs deploy", clone, freshShellEnv(nodeOnly));
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("setup: deploy: usage: node scripts/setup.mjs [demo | test]  (demo: recover the bundled release; test: the whole test suite)\n");
  });
});
