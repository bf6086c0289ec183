import type { FoundWeights } from "./folder-listing.js";
import { expectedLlamaTensors } from "./llama-shapes.js";
import type { InspectedFile, InspectProblem, LlamaDimensions } from "./report.js";

/** A model missing a whole shard lacks hundreds of names: the first few say enough. */
export const MAX_LISTED = 10;

/**
 * The weights against the shapes config.json implies for a LLaMA: every tensor it holds is one
 * LlamaForCausalLM has, with that shape; and, when every file of the set could be read, none is
 * missing. A name safetensors dropped as shared has no shape of its own and counts as present.
 */
export function checkAgainstConfig(found: FoundWeights, inspected: InspectedFile[], complete: boolean, dimensions: LlamaDimensions): InspectProblem[] {
  const expected = expectedLlamaTensors(dimensions);
  const problems: InspectProblem[] = [];
  const problem = (file: string, message: string) => problems.push({ file, scope: "config", message });
  const present = new Set<string>();
  for (const file of inspected) {
    for (const name of Object.keys(file.droppedNames)) present.add(name);
    for (const tensor of file.tensors) {
      present.add(tensor.name);
      const want = expected.get(tensor.name);
      if (!want) problem(file.file, `holds ${tensor.name}, which a LLaMA with this config.json does not have`);
      else if (!sameShape(want.shape, tensor.shape)) problem(file.file, `${tensor.name} has shape ${shapeText(tensor.shape)}, but config.json implies ${shapeText(want.shape)}`);
    }
  }
  if (!complete) return problems;
  const missing = [...expected].filter(([name, want]) => !want.optional && !present.has(name));
  const where = found.index?.name ?? found.files[0]!;
  const holder = found.index ? "no shard it lists holds" : "does not hold";
  for (const [name, want] of missing.slice(0, MAX_LISTED)) problem(where, `${holder} ${name} ${shapeText(want.shape)}, which config.json implies`);
  if (missing.length > MAX_LISTED) problem(where, `${holder} ${missing.length - MAX_LISTED} more tensors config.json implies (${missing.length} missing in all)`);
  return problems;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

export const shapeText = (shape: readonly number[]) => `[${shape.join(", ")}]`;
