import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { validateWorkflow } from "@action-validator/core";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { repoRoot } from "../support/cli.js";

interface Step {
  uses?: string;
  run?: string;
}
interface Job {
  "runs-on"?: unknown;
  if?: string;
  uses?: string;
  permissions?: unknown;
  steps?: Step[];
  strategy?: { "fail-fast"?: boolean; matrix?: unknown };
}
interface Workflow {
  on: unknown;
  permissions?: unknown;
  jobs: Record<string, Job>;
}

const workflowsDir = join(repoRoot, ".github", "workflows");
const files = readdirSync(workflowsDir).filter((name) => /\.ya?ml$/.test(name)).sort();
const sources = new Map(files.map((name) => [name, readFileSync(join(workflowsDir, name), "utf8")]));
const workflows = new Map([...sources].map(([name, text]) => [name, parse(text) as Workflow]));
// What `pnpm <name>` runs at the root: a root script, or a bin of the private scripts package
// (`recover` is one, so that pnpm prints no `$ <command>` echo before it).
const rootScripts = [
  ...Object.keys((JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts),
  ...Object.keys((JSON.parse(readFileSync(join(repoRoot, "scripts", "package.json"), "utf8")) as { bin: Record<string, string> }).bin),
];

const allJobs = () => [...workflows].flatMap(([file, workflow]) => Object.entries(workflow.jobs).map(([id, job]) => ({ file, id, job })));
/** The action validator writes warnings (globs it cannot check yet) to the console; the errors are what count. */
const schemaErrors = (text: string) => validateWorkflow(text).errors;

describe(".github/workflows", () => {
  it("holds the ci, recover and release workflows", () => {
    expect(files).toEqual(["ci.yml", "recover.yml", "release.yml"]);
  });

  it.each(files)("%s validates against the GitHub Actions workflow schema (@action-validator/core)", (name) => {
    expect(schemaErrors(sources.get(name)!)).toEqual([]);
  });

  it("the validator rejects a job without runs-on, so a pass above means something", () => {
    const broken = sources.get("ci.yml")!.replace("    runs-on: ${{ matrix.os }}\n", "");
    expect(broken).not.toEqual(sources.get("ci.yml"));
    expect(schemaErrors(broken).length).toBeGreaterThan(0);
  });

  it("pins every action to a full 40-hex commit SHA, never a tag or branch", () => {
    const uses = allJobs().flatMap(({ file, id, job }) => [job.uses, ...(job.steps ?? []).map((step) => step.uses)].filter((u) => u !== undefined).map((u) => `${file} ${id}: ${u}`));
    expect(uses.length).toBeGreaterThan(10);
    for (const entry of uses) expect(entry).toMatch(/: [\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
  });

  it("names the version of each pinned SHA in a comment", () => {
    for (const [name, text] of sources) {
      for (const line of text.split("\n").filter((l) => /uses: \S+@[0-9a-f]{40}/.test(l))) expect(`${name}: ${line.trim()}`).toMatch(/# v\d+(\.\d+)*$/);
    }
  });

  it("reads only the repository at workflow level, and every job declares its own permissions", () => {
    for (const [name, workflow] of workflows) expect(workflow.permissions, name).toEqual({ contents: "read" });
    for (const { file, id, job } of allJobs()) expect(job.permissions, `${file} ${id}`).toBeTypeOf("object");
  });

  it("lets only the release job write, and only contents and pull requests", () => {
    for (const { file, id, job } of allJobs()) {
      const writes = Object.entries((job.permissions ?? {}) as Record<string, string>).filter(([, level]) => level === "write");
      if (file === "release.yml" && id === "release") expect(writes.map(([scope]) => scope).sort()).toEqual(["contents", "pull-requests"]);
      else expect(writes, `${file} ${id}`).toEqual([]);
    }
  });

  it("runs only root scripts (and the scripts package's bins) that exist", () => {
    const runs = allJobs().flatMap(({ job }) => (job.steps ?? []).map((step) => step.run ?? ""));
    const pnpmScripts = runs.flatMap((run) => [...run.matchAll(/\bpnpm ([\w:-]+)/g)].map((m) => m[1]!)).filter((s) => s !== "install");
    expect(pnpmScripts).toEqual(expect.arrayContaining(["lint", "typecheck", "test:portable", "model-recover", "recover"]));
    for (const script of pnpmScripts) expect(rootScripts).toContain(script);
    const actionCommands = allJobs().flatMap(({ job }) => (job.steps ?? []).flatMap((step) => Object.values((step as { with?: Record<string, string> }).with ?? {})));
    for (const command of actionCommands.filter((c) => typeof c === "string" && c.startsWith("pnpm "))) expect(rootScripts).toContain(command.split(" ")[1]);
  });
});

describe("ci.yml", () => {
  const test = workflows.get("ci.yml")!.jobs.test!;

  it("tests on Linux, macOS and Windows without cancelling the others on a failure", () => {
    expect(test.strategy).toEqual({ "fail-fast": false, matrix: { os: ["ubuntu-latest", "macos-latest", "windows-latest"] } });
  });

  it("runs .ci/run (with the interop lane) on Linux and the portable suite elsewhere", () => {
    const runs = test.steps!.map((step) => `${(step as { if?: string }).if ?? "always"} → ${step.run ?? step.uses}`);
    expect(runs).toContain("runner.os == 'Linux' → bash .ci/run");
    expect(runs).toContain("runner.os != 'Linux' → pnpm test:portable");
    expect(runs).toEqual(expect.arrayContaining(["always → pnpm install --frozen-lockfile", "always → pnpm lint", "always → pnpm typecheck"]));
  });

  it("caches turbo's local cache keyed on the lockfile and the commit", () => {
    const cache = test.steps!.find((step) => step.uses?.startsWith("actions/cache@")) as { with: { path: string; key: string } };
    expect(cache.with.path).toBe(".turbo/cache");
    expect(cache.with.key).toContain("hashFiles('pnpm-lock.yaml')");
    expect(cache.with.key).toContain("github.sha");
  });
});

describe("recover.yml", () => {
  const jobs = workflows.get("recover.yml")!.jobs;

  it("builds the synthetic and real matrices from the matrix job's outputs", () => {
    expect(jobs.synthetic!.strategy!.matrix).toBe("${{ fromJSON(needs.matrix.outputs.synthetic) }}");
    expect(jobs.real!.strategy!.matrix).toBe("${{ fromJSON(needs.matrix.outputs.real-first) }}");
    expect(jobs["real-then"]!.strategy!.matrix).toBe("${{ fromJSON(needs.matrix.outputs.real-then) }}");
  });

  it("follows the graph of bases: recipes built on another recipe's output run after the real job, even when one of its recipes failed", () => {
    expect((jobs["real-then"] as { needs?: unknown }).needs).toEqual(["matrix", "real"]);
    expect(jobs["real-then"]!.if).toMatch(/^\$\{\{ !cancelled\(\) && needs\.matrix\.outputs\.has-real-then == 'true' && /);
    for (const id of ["real", "real-then"]) expect(jobs[id]!.steps!.at(-1)!.run).toContain('pnpm recover "${args[@]}"');
  });

  it("recovers real releases only on the weights runner, on a manual run or a push to main", () => {
    for (const id of ["real", "real-then"]) {
      expect(jobs[id]!["runs-on"]).toEqual(["self-hosted", "llama-weights"]);
      expect(jobs[id]!.if).toMatch(/github\.event_name == 'workflow_dispatch' \|\| \(github\.event_name == 'push' && github\.ref == 'refs\/heads\/main'\)/);
      expect(jobs[id]!.if).not.toMatch(/pull_request/);
    }
  });
});
