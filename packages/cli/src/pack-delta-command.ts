import { displayPath, packDelta, printable, type RecoverEvent, UsageError } from "@model-recover/pipeline";
import type { CommandContext } from "./context.js";
import { ExitCode } from "./exit-codes.js";
import { createProgress } from "./progress.js";
import { throwFailure } from "./recover-command.js";
import { fileLines } from "./summary.js";

interface PackValues {
  model: string;
  base: string;
  out: string;
  name: string;
  clear?: string[];
  recipe?: string;
  title?: string;
  card?: string;
  "base-title"?: string;
  prompt?: string;
}

/** `pack --format add-delta`: the delta, its round trip, the recipe. */
export async function packDeltaCommand(values: PackValues, at: (path: string) => string, context: CommandContext): Promise<number> {
  if (values.clear?.length) throw new UsageError("--clear: an add-delta release copies the tuned folder's config and tokenizer files as they are; there is nothing to leave unencrypted");
  const progress = createProgress(context.stderr, { work: "write" });
  const { recipe, recipePath, summary } = await packDelta({
    modelDir: at(values.model),
    basePath: at(values.base),
    outDir: at(values.out),
    name: values.name,
    ...(values.recipe ? { recipePath: at(values.recipe) } : {}),
    ...(values.title ? { title: values.title } : {}),
    ...(values.card ? { card: values.card } : {}),
    ...(values["base-title"] ? { baseTitle: values["base-title"] } : {}),
    ...(values.prompt ? { prompt: values.prompt } : {}),
    onEvent: (event) => {
      if (event.type !== "delta-checked" && event.type !== "delta-fixed") progress(event as RecoverEvent);
    },
    ...(context.signal ? { signal: context.signal } : {}),
  });
  context.stdout.write(`${fileLines(summary).join("\n")}\n`);
  if (!summary.ok) throwFailure(summary);
  const { elements, nudged, inexact } = summary.roundTrip;
  const trip = inexact === 0 ? `all ${elements} values come back exactly` : `${elements - inexact} of ${elements} values come back exactly; ${inexact} cannot (a tuned value finer than the base's float16 step there)`;
  context.stdout.write(
    `packed ${recipe.files.length} files of ${printable(recipe.name)} as an additive delta; round trip (base + delta as FastChat's apply_delta adds): ${trip}${nudged ? `, ${nudged} by the float16 neighbour of tuned − base` : ""}\n` +
      `recipe: ${printable(displayPath(recipePath, context.cwd))} (recover it with --base <the base> --enc ${printable(displayPath(summary.outDir, context.cwd))})\n`,
  );
  return ExitCode.ok;
}
