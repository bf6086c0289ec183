import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isDeltaPipeline, type KnownOutput, type LabelledInput, linkedFolders, type LoadedTensorRecipe, printable, putBackOutputs, refuseOverlaps, tensorRecipeInputs } from "@model-recover/pipeline";
import type { CommandContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { reportError, runCli } from "../run-cli.js";
import { madeRecordProblem } from "./made-record.js";
import { putBackProblem, receiptProblem } from "./tensor-receipt.js";

export interface TensorHit {
  loaded: LoadedTensorRecipe;
  /** The receipt turbo put back, read as untrusted input (undefined when it was unusable). */
  known: Map<string, KnownOutput> | undefined;
  /** The identity of recipe, inputs and settings: the key of turbo's task and of the store's record. */
  digest: string;
  store: string;
  paths: { base: string; enc: string; out: string };
  args: string[];
  /** --to: which files the recipe makes (the .bin weights, or model-*.safetensors). */
  to: string;
}

/**
 * What the run that was skipped would have kept --out apart from: a delta's base and delta folders; a
 * conversion's model folder of the originals (as convert-llama does: the download root around it may
 * hold the output); and the real folder of every input file that is a link (one kept in --out and
 * linked in would be replaced by what is put back).
 */
async function inputPlaces(loaded: LoadedTensorRecipe, paths: TensorHit["paths"]) {
  const linked = (files: LabelledInput[]) => linkedFolders(files.map(({ label, path }) => ({ path, what: `folder that ${label} links into` })));
  if (isDeltaPipeline(loaded.pipeline)) {
    // Delta folders that cannot be listed are reported by the run that follows; nothing in them links into --out.
    const files = await tensorRecipeInputs(loaded, paths).catch(() => []);
    return [{ path: paths.base, what: "base (--base)" }, { path: paths.enc, what: "delta folder (--enc)" }, ...(await linked(files))];
  }
  const files = await tensorRecipeInputs(loaded, paths);
  const originals = files.map(({ label, path }) => ({ path, what: `original ${label}` }));
  return [{ path: files[0] ? dirname(files[0].path) : paths.base, what: "originals folder" }, ...(await linked(files)), ...originals];
}

/**
 * A turbo cache hit of a tensor recipe (a conversion, an additive delta): the files its receipt
 * names are checked in place or put back from the store, with no tensor work. The output folder is
 * still checked apart from the inputs, as the run that was skipped would have; a receipt that falls
 * short of the recipe, or a file the store can no longer vouch for, makes the recipe run again, as
 * model-recover recover runs it.
 */
export async function putBackTensorOutputs({ loaded, known, digest, store, paths, args, to }: TensorHit, context: CommandContext): Promise<number> {
  const name = printable(loaded.recipe.name);
  const work = isDeltaPipeline(loaded.pipeline) ? "delta" : "conversion";
  try {
    await refuseOverlaps(paths.out, await inputPlaces(loaded, paths));
    const unusable = !known || known.size === 0 ? "it names no usable file" : (receiptProblem(loaded, known, to) ?? (await madeRecordProblem(store, digest, loaded.recipe.name, known)));
    if (known && !unusable) {
      const { kept, restored, missing } = await putBackOutputs({ outDir: paths.out, files: known, store: { dir: store } });
      const wrong = missing.length === 0 ? await putBackProblem(loaded, known, paths.out) : undefined;
      if (missing.length === 0 && !wrong) {
        context.stderr.write(`model-recover: turbo cache hit: ${name} was made and verified from these very inputs before; no ${work} work\n`);
        context.stdout.write(`All ${known.size} files of ${name} are in ${printable(paths.out)}: ${kept.length} as verified before, ${restored.length} put back from the store (${printable(store)})\n`);
        return ExitCode.ok;
      }
      // What this hit put under final names did not stand: it goes, so a rerun that fails leaves nothing unverified.
      await Promise.all(restored.map((file) => rm(join(paths.out, file), { force: true })));
      const why = wrong ? `what it put back is not the recipe's output (${wrong})` : `the store no longer holds ${missing.join(", ")} as verified`;
      context.stderr.write(`model-recover: turbo cache hit, but ${printable(why)}; running the ${work} again\n`);
    } else {
      context.stderr.write(`model-recover: turbo cache hit, but its receipt cannot stand for ${name}'s outputs (${printable(unusable ?? "")}); running the ${work} again\n`);
    }
  } catch (error) {
    return reportError(error, context);
  }
  return runCli(["recover", ...args], { ...context, hooks: { store: { dir: store } } });
}
