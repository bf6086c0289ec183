import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { readJsonObjectFile, type JsonObject } from "./json-file.js";
import { checkShardSeries, parseSeriesMember } from "./shard-series.js";
import { readWeightMap } from "./weight-map.js";

export type FolderProblem =
  | { kind: "config-missing" }
  /** `reason` reads after "config.json": `is not valid JSON (...)`. */
  | { kind: "config-invalid"; reason: string }
  /** `reason` is a whole sentence that names the index file, since there are two kinds of index. */
  | { kind: "index-invalid"; reason: string }
  /** Named by an index but not a file in the folder, or a gap in a `-0000N-of-0000M` series. */
  | { kind: "shard-missing"; shard: string }
  /** A `pytorch_model-*.bin` (or `model-*.safetensors`) on disk that the index does not name. */
  | { kind: "shard-unlisted"; shard: string };

export interface FolderReport {
  ok: boolean;
  problems: FolderProblem[];
  /** The weight files the folder declares: the shards its index names, or its single weight file. */
  shards: string[];
  /** The parsed config.json, when it is a JSON object. */
  config?: Record<string, unknown>;
}

const CONFIG_FILE = "config.json";

/** The two weight layouts transformers writes; each index names the shards of its own format. */
interface WeightFormat {
  index: string;
  single: string;
  shardFile: RegExp;
  shardGlob: string;
}

const PYTORCH: WeightFormat = {
  index: "pytorch_model.bin.index.json",
  single: "pytorch_model.bin",
  shardFile: /^pytorch_model-.+\.bin$/,
  shardGlob: "pytorch_model-*.bin",
};
const SAFETENSORS: WeightFormat = {
  index: "model.safetensors.index.json",
  single: "model.safetensors",
  shardFile: /^model-.+\.safetensors$/,
  shardGlob: "model-*.safetensors",
};

interface FormatCheck {
  problems: FolderProblem[];
  shards: string[];
}

/**
 * Checks a recovered Hugging Face model folder: config.json, the index and its shards. Names from an
 * index are checked as plain file names before any is looked up, so `../x.bin` never leaves `dir`.
 * Throws the file system's error when `dir` itself cannot be read.
 */
export async function checkHfFolder(dir: string): Promise<FolderReport> {
  const files = await regularFiles(dir);
  const problems: FolderProblem[] = [];
  const config = await readJsonObjectFile(join(dir, CONFIG_FILE));
  if (!config.ok) {
    problems.push(config.missing ? { kind: "config-missing" } : { kind: "config-invalid", reason: config.reason });
  }
  const shards: string[] = [];
  for (const format of [PYTORCH, SAFETENSORS]) {
    const checked = await checkWeightFormat(dir, format, files);
    problems.push(...checked.problems);
    shards.push(...checked.shards);
  }
  const report: FolderReport = { ok: problems.length === 0, problems, shards };
  if (config.ok) report.config = config.value;
  return report;
}

/** One line that names the file, e.g. `pytorch_model-00002-of-00003.bin is missing (shard 2 of 3)`. */
export function describeProblem(problem: FolderProblem): string {
  switch (problem.kind) {
    case "config-missing":
      return `${CONFIG_FILE} is missing`;
    case "config-invalid":
      return `${CONFIG_FILE} ${problem.reason}`;
    case "index-invalid":
      return problem.reason;
    case "shard-missing": {
      const member = parseSeriesMember(problem.shard);
      const why = member ? `shard ${member.number} of ${member.total}` : `named by ${formatOf(problem.shard).index}`;
      return `${problem.shard} is missing (${why})`;
    }
    case "shard-unlisted":
      return `${problem.shard} is on disk but ${formatOf(problem.shard).index} does not name it`;
  }
}

async function checkWeightFormat(dir: string, format: WeightFormat, files: ReadonlySet<string>): Promise<FormatCheck> {
  const onDisk = [...files].filter((name) => format.shardFile.test(name)).sort();
  const index = await readJsonObjectFile(join(dir, format.index));
  if (!index.ok && index.missing) return checkUnindexed(format, onDisk, files);
  if (!index.ok) {
    const gaps = checkShardSeries(onDisk, files).missing;
    return { problems: [indexInvalid(`${format.index} ${index.reason}`), ...gaps.map(shardMissing)], shards: onDisk };
  }
  return checkIndexed(format, index.value, onDisk, files);
}

function checkIndexed(format: WeightFormat, index: JsonObject, onDisk: string[], files: ReadonlySet<string>): FormatCheck {
  const weightMap = readWeightMap(index);
  const named = new Set(weightMap.shards);
  const series = checkShardSeries([...named, ...onDisk], files);
  const missing = new Set([...weightMap.shards.filter((shard) => !files.has(shard)), ...series.missing]);
  const problems: FolderProblem[] = [
    ...weightMap.reasons.map((reason) => indexInvalid(`${format.index} ${reason}`)),
    ...series.outOfSeries
      .filter((shard) => named.has(shard))
      .map((shard) => indexInvalid(`${format.index} names ${shard}, which cannot be a member of its own series`)),
    ...[...missing].sort().map(shardMissing),
    ...onDisk.filter((shard) => !named.has(shard)).map((shard): FolderProblem => ({ kind: "shard-unlisted", shard })),
  ];
  return { problems, shards: weightMap.shards };
}

function checkUnindexed(format: WeightFormat, onDisk: string[], files: ReadonlySet<string>): FormatCheck {
  if (files.has(format.single)) return { problems: [], shards: [format.single] };
  if (onDisk.length === 0) return { problems: [], shards: [] };
  // transformers finds shards only through the index: without it from_pretrained fails on this folder.
  const absent = indexInvalid(
    `${format.index} is missing, yet ${onDisk.length} ${format.shardGlob} file(s) are on disk that only it can list`,
  );
  return { problems: [absent, ...checkShardSeries(onDisk, files).missing.map(shardMissing)], shards: onDisk };
}

/** Names in `dir` that are regular files, following symlinks (the Hugging Face cache links to blobs). */
async function regularFiles(dir: string): Promise<Set<string>> {
  const names = await readdir(dir);
  const isFile = await Promise.all(
    names.map(async (name) => {
      try {
        return (await stat(join(dir, name))).isFile();
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ELOOP") return false;
        throw error;
      }
    }),
  );
  return new Set(names.filter((_, position) => isFile[position]));
}

function formatOf(shard: string): WeightFormat {
  return shard.endsWith(".safetensors") ? SAFETENSORS : PYTORCH;
}

function indexInvalid(reason: string): FolderProblem {
  return { kind: "index-invalid", reason };
}

function shardMissing(shard: string): FolderProblem {
  return { kind: "shard-missing", shard };
}
