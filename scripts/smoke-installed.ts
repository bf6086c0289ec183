// pnpm smoke:installed — the CLI as someone who never cloned this repository gets it: every package
// packed (workspace:* turned into versions), the tarballs installed with npm into an empty folder
// outside the workspace, then `model-recover --version`, `list`, and the demo recovered and checked
// with md5sum -c. Run by .ci/run after the build.
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { $, cd } from "zx";

const root = new URL("..", import.meta.url).pathname;
const packageDirs = [...(await readdir(join(root, "packages"))).map((name) => join(root, "packages", name)), join(root, "manifests"), join(root, "pipelines")];
const scratch = await mkdtemp(join(tmpdir(), "model-recover-installed-"));
$.verbose = false;
try {
  const tarballs = join(scratch, "tarballs");
  for (const dir of packageDirs) await $({ cwd: dir })`pnpm pack --pack-destination ${tarballs}`;
  const app = join(scratch, "app");
  await $`mkdir -p ${app}`;
  await writeFile(join(app, "package.json"), `${JSON.stringify({ name: "installed-smoke", private: true })}\n`);
  cd(app);
  const files = (await readdir(tarballs)).map((name) => join(tarballs, name));
  await $`npm install --no-audit --no-fund --loglevel=error ${files}`;
  const cli = join(app, "node_modules", ".bin", "model-recover");
  process.stdout.write(`${(await $`${cli} --version`).stdout}`);
  const list = (await $`${cli} list`).stdout;
  if (!/^demo\s/m.test(list)) throw new Error(`model-recover list does not show the demo:\n${list}`);
  await $`${cli} recover demo --out ${join(app, "demo-out")}`;
  const release = join(app, "node_modules", "@model-recover", "manifests", "demo", "release");
  await $({ cwd: join(app, "demo-out") })`md5sum -c --quiet ${join(release, "demo.md5")}`;
  process.stdout.write(`installed from ${files.length} tarballs outside the workspace: list shows ${list.trim().split("\n").length - 1} recipes; the demo recovered and md5sum -c passed\n`);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
