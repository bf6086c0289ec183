import { resolve } from "node:path";
import { hashFile } from "@model-recover/md5-manifest";
import type { CommandContext } from "./context.js";
import { ExitCode } from "./exit-codes.js";
import { type CommandSpec, helpText, parseCommand } from "./options.js";
import { allBases, bundledManifestsDir, formatBytes, isTensorRecipe, loadRecipe, printable, recipeNames, UsageError, type BaseCheckpoint } from "@model-recover/pipeline";
import { statRegularFile } from "@model-recover/safe-fs";

export const identifySpec: CommandSpec = {
  name: "identify",
  positionals: "<file>",
  summary: "Name the known base checkpoint a file is (manifests/bases/: originals, converted folders), by its size where that is known and then by its md5 and sha256, the conversion recipe that makes it, and the recipes it unlocks. Exit 0 for a known base, 4 otherwise.",
  options: { help: { type: "boolean", short: "h", description: "show this help" } },
};

interface Known {
  base: BaseCheckpoint;
  /** A file of a folder base (xor_codec), or the base file itself. */
  name: string;
  size?: number;
  md5?: string | null;
  sha256?: string | null;
}

export async function identifyCommand(argv: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommand(identifySpec, argv);
  if (values.help) {
    context.stdout.write(`${helpText(identifySpec)}\n`);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) throw new UsageError("expected one file: model-recover identify <file>");
  const path = resolve(context.cwd, positionals[0]!);
  const info = await statRegularFile(path, "checkpoint (such as 13B/consolidated.00.pth)");
  const known = (await allBases(bundledManifestsDir)).flatMap(knownFiles);
  // A size that no known base has rules nothing out when sizes are unpublished, so hash unless a size says no.
  const sizeMatches = known.filter((k) => k.size === undefined || k.size === info.size);
  if (sizeMatches.length === 0) return report(context, path, [], undefined, `${formatBytes(info.size)}, a size no known base has`);
  if (info.size > 1e9) context.stderr.write(`hashing ${printable(path)} (${formatBytes(info.size)})…\n`);
  const { md5, sha256 } = await hashFile(path, ["md5", "sha256"]);
  const matches = sizeMatches.filter((k) => (k.md5 && k.md5 === md5) || (k.sha256 && k.sha256 === sha256));
  return report(context, path, matches, md5!, `md5 ${md5}, sha256 ${sha256}, ${info.size} bytes`);
}

function knownFiles(base: BaseCheckpoint): Known[] {
  if (base.fileName) return [{ base, name: base.fileName, size: base.size, md5: base.md5, sha256: base.sha256 }];
  return (base.files ?? []).map((f) => ({ base, name: f.name, size: f.size, md5: f.md5 }));
}

/**
 * Every base the file is part of (a 7B consolidated.00.pth is both the XOR releases' key and an
 * input of the 7B conversion; tokenizer.model is in every size), what makes it (a conversion recipe
 * whose output has its md5), and the recipes it unlocks.
 */
async function report(context: CommandContext, path: string, matches: Known[], md5: string | undefined, facts: string): Promise<number> {
  if (matches.length === 0) {
    context.stdout.write(`${printable(path)}: not a known base (${facts}); known bases are in manifests/bases/\n`);
    return ExitCode.badInput;
  }
  const ids = new Set(matches.map((m) => m.base.id));
  const all = await Promise.all((await recipeNames()).map((name) => loadRecipe(name, { cwd: context.cwd })));
  const madeBy = all.filter((loaded) => isTensorRecipe(loaded) && md5 && loaded.recipe.files.some((f) => f.md5 === md5)).map((loaded) => loaded.recipe.name);
  // Keyed with the file: by a base of manifests/bases/, or by the output of a recipe that makes it.
  const recipes = all.filter(({ recipe, baseRecipe }) => (typeof recipe.base === "string" && ids.has(recipe.base)) || (baseRecipe && madeBy.includes(baseRecipe.recipe.name))).map((loaded) => loaded.recipe.name);
  const what = matches.map((m) => (m.base.fileName ? m.base.title : `${m.name} of ${m.base.title}`)).join("; ");
  const made = madeBy.length > 0 ? `; made by ${madeBy.join(", ")}` : "";
  const notes = matches.flatMap((m) => (m.base.notes ? [m.base.notes] : []));
  const unlocks = recipes.length > 0 ? `it unlocks: ${recipes.join(", ")}` : `no recipe is keyed with it${notes.length > 0 ? ` (${notes.join(" ")})` : ""}`;
  context.stdout.write(`${printable(path)}: ${printable(what)} (${facts})${printable(made)}; ${printable(unlocks)}\n`);
  return ExitCode.ok;
}
