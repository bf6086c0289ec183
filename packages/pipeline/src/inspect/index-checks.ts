import type { FoundWeights } from "./folder-listing.js";
import type { InspectedFile, InspectProblem } from "./report.js";

/** Every name a weight file answers for: its tensors, and for safetensors the names it dropped as shared. */
function namesIn(file: InspectedFile): string[] {
  return [...file.tensors.map((t) => t.name), ...Object.keys(file.droppedNames)];
}

/**
 * The index against the shards (what transformers relies on to load a sharded checkpoint): every
 * tensor it lists is in the shard it names, no shard holds a tensor it does not list, no tensor is in
 * two files, and metadata.total_size is what the shards hold. Shards that are missing or could not
 * be read are already reported and are not checked again here.
 */
export function checkAgainstIndex(found: FoundWeights, inspected: InspectedFile[]): InspectProblem[] {
  const problems: InspectProblem[] = [];
  const problem = (file: string, message: string) => problems.push({ file, scope: found.format, message });
  const holders = new Map<string, string[]>();
  for (const file of inspected) for (const name of namesIn(file)) holders.set(name, [...(holders.get(name) ?? []), file.file]);
  for (const [name, files] of holders) for (const other of files.slice(1)) problem(other, `holds ${name}, which ${files[0]} holds too`);
  const index = found.index;
  if (!index) return problems;
  const read = new Set(inspected.map((f) => f.file));
  for (const [name, shard] of index.weightMap) {
    const at = holders.get(name) ?? [];
    if (read.has(shard) && !at.includes(shard)) problem(shard, `lacks ${name}, which ${index.name} maps to it${at.length > 0 ? ` (it is in ${at.join(", ")})` : ""}`);
  }
  for (const file of inspected) {
    for (const name of namesIn(file)) if (!index.weightMap.has(name)) problem(file.file, `holds ${name}, which ${index.name} does not list`);
  }
  const complete = inspected.length === found.files.length && found.problems.length === 0;
  if (complete && index.totalSize !== undefined) problems.push(...checkTotalSize(found, inspected));
  return problems;
}

/**
 * save_pretrained's metadata.total_size: transformers 4.28-4.29 summed every tensor's bytes (a tied
 * name counted again), huggingface_hub's splitter sums each storage once; either is accepted. A
 * safetensors index that convert.py made keeps the .bin index's total, which counts the names it
 * dropped, whose sizes a safetensors header does not record: then it is not checked.
 */
function checkTotalSize(found: FoundWeights, inspected: InspectedFile[]): InspectProblem[] {
  const index = found.index!;
  if (inspected.some((file) => Object.keys(file.droppedNames).length > 0)) return [];
  const tensorBytes = inspected.reduce((sum, file) => sum + file.totals.tensorBytes, 0);
  const storedBytes = inspected.reduce((sum, file) => sum + file.totals.storedBytes, 0);
  if (index.totalSize === tensorBytes || index.totalSize === storedBytes) return [];
  const stored = storedBytes === tensorBytes ? "" : ` (${storedBytes} in distinct storages)`;
  return [{ file: index.name, scope: found.format, message: `metadata.total_size is ${index.totalSize}, but the shards' tensors hold ${tensorBytes} bytes${stored}` }];
}
