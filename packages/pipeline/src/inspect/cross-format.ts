import { MAX_LISTED, sameShape, shapeText } from "./config-checks.js";
import type { InspectedFile, InspectProblem } from "./report.js";

interface Seen {
  file: string;
  dtype: string;
  shape: number[];
}

/**
 * A folder holding both formats (a convert next to the .bin files, or a Hub download of both) must
 * hold one model: the safetensors files name every tensor the .bin files do (a name dropped as
 * shared counts), no other, each with the same dtype and shape. Problems are the safetensors' side,
 * since they are the ones made from the others.
 */
export function compareFormats(pytorch: InspectedFile[], safetensors: InspectedFile[], where: string): InspectProblem[] {
  const binTensors = byName(pytorch);
  const stTensors = byName(safetensors);
  const dropped = new Map(safetensors.flatMap((file) => Object.keys(file.droppedNames).map((name) => [name, file.file] as const)));
  const problems: InspectProblem[] = [];
  const problem = (file: string, message: string) => problems.push({ file, scope: "safetensors", message });
  const absent: string[] = [];
  for (const [name, bin] of binTensors) {
    const st = stTensors.get(name);
    if (st && (st.dtype !== bin.dtype || !sameShape(st.shape, bin.shape))) problem(st.file, `${name} is ${st.dtype} ${shapeText(st.shape)}, but ${bin.dtype} ${shapeText(bin.shape)} in ${bin.file}`);
    if (!st && !dropped.has(name)) absent.push(name);
  }
  for (const name of absent.slice(0, MAX_LISTED)) problem(where, `the safetensors files have no ${name}, which ${binTensors.get(name)!.file} holds`);
  if (absent.length > MAX_LISTED) problem(where, `the safetensors files lack ${absent.length - MAX_LISTED} more tensors the .bin files hold (${absent.length} in all)`);
  const extra = [...stTensors.keys(), ...dropped.keys()].filter((name) => !binTensors.has(name));
  for (const name of extra.slice(0, MAX_LISTED)) problem(stTensors.get(name)?.file ?? dropped.get(name)!, `holds ${name}, which no .bin file holds`);
  if (extra.length > MAX_LISTED) problem(where, `the safetensors files hold ${extra.length - MAX_LISTED} more tensors no .bin file holds (${extra.length} in all)`);
  return problems;
}

function byName(files: InspectedFile[]): Map<string, Seen> {
  return new Map(files.flatMap((file) => file.tensors.map((t) => [t.name, { file: file.file, dtype: t.dtype, shape: t.shape }] as const)));
}
