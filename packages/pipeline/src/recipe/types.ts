import type { PipelineDefinition, TensorPipelineDefinition } from "./pipelines.js";

/** A recipe as stored in manifests/<name>.json (see manifests/recipe.schema.json). */
export interface Recipe {
  name: string;
  title: string;
  /** A pipeline definition in pipelines/. */
  pipeline: string;
  /** The model card the hashes come from. */
  card?: string;
  /** Where the release lives on the Hub (recover --from-hub, download); a revision only where confirmed. */
  hub?: { repo: string; revision?: string; folder?: string };
  /** A base under manifests/bases/ by id, described inline (recipes made by pack), or another recipe's output. */
  base: string | BaseCheckpoint | RecipeBase;
  files: RecipeFile[];
  prompt?: string;
  /** weight_diff.py's integrity check: the sum of all recovered parameters, within tolerance (Alpaca). */
  paramSum?: { expected: number; tolerance: number };
  load?: string[];
  bundled?: { enc: string; base: string };
}

/** A base that is what another recipe makes (`{"recipe": "llama-30b-hf"}`): that recipe runs first. */
export interface RecipeBase {
  recipe: string;
}

export const isRecipeBase = (base: Recipe["base"]): base is RecipeBase => typeof base === "object" && "recipe" in base;

/** Key material, described once in manifests/bases/<id>.json (see manifests/base.schema.json). */
export interface BaseCheckpoint {
  id?: string;
  title: string;
  /** The model folder of the original download (7B, 13B, …). */
  model?: string;
  /** A file base: its name, size where known and hashes (null: not published). */
  fileName?: string;
  size?: number;
  md5?: string | null;
  sha256?: string | null;
  /** A folder base (xor_codec): every file with its md5. */
  files?: { name: string; md5: string | null; size?: number }[];
  /** For keys taken from the start of the file (spec §3): how many bytes, and their md5. */
  keyPrefix?: { bytes: number; md5: string };
  notes?: string;
}

/** One file of the recovered folder. */
export type RecipeFile = EncryptedRecipeFile | ClearRecipeFile;

export interface EncryptedRecipeFile {
  name: string;
  clear?: undefined;
  /** sha256 of the recovered file (in `.enc` names and headers); null or absent: learned from the release. */
  sha256?: string | null;
  /** md5 of the file as downloaded; null: not published. */
  encMd5?: string | null;
  /** md5 of the recovered file; null: not published. */
  md5: string | null;
  /** Size of the recovered file in bytes, where known. */
  size?: number;
}

/** A file that travels unencrypted (a README): copied when present, checked against its md5. */
export interface ClearRecipeFile {
  name: string;
  clear: true;
  md5: string | null;
  size?: number;
}

/** An XOR recipe with its base and pipeline resolved, and where it came from. */
export interface LoadedRecipe {
  recipe: Recipe;
  base: BaseCheckpoint;
  pipeline: PipelineDefinition;
  /** The recipe file as the user would name it (relative where possible). */
  file: string;
  /** Folder that bundled paths are relative to: the recipe file's own folder. */
  root: string;
  /** The recipe whose verified output is the base (`"base": {"recipe": …}`); `base` then describes that output. */
  baseRecipe?: AnyLoadedRecipe;
}

/** A recipe of the tensor engine (a conversion): its base is the folder of inputs. */
export interface LoadedTensorRecipe extends Omit<LoadedRecipe, "pipeline"> {
  pipeline: TensorPipelineDefinition;
}

export type AnyLoadedRecipe = LoadedRecipe | LoadedTensorRecipe;

export const isTensorRecipe = (loaded: AnyLoadedRecipe): loaded is LoadedTensorRecipe => loaded.pipeline.engine === "tensor";

export const isEncrypted = (file: RecipeFile): file is EncryptedRecipeFile => file.clear !== true;
