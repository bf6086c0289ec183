/** A recipe as stored in manifests/<name>.json (see manifests/recipe.schema.json). */
export interface Recipe {
  name: string;
  title: string;
  pipeline: "xor-enc";
  /** The model card the hashes come from. */
  card?: string;
  base: BaseCheckpoint;
  files: RecipeFile[];
  prompt?: string;
  load?: string[];
  bundled?: { enc: string; base: string };
}

export interface BaseCheckpoint {
  title: string;
  fileName: string;
  size?: number;
  /** null: not published. */
  md5: string | null;
  sha256: string | null;
}

/** One file of the recovered folder. Encrypted files carry the sha256 of their `.enc` name. */
export type RecipeFile = EncryptedRecipeFile | ClearRecipeFile;

export interface EncryptedRecipeFile {
  name: string;
  clear?: undefined;
  sha256: string;
  /** md5 of the `.enc` file as downloaded; null: not published. */
  encMd5: string | null;
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

/** A loaded recipe and where it came from. */
export interface LoadedRecipe {
  recipe: Recipe;
  /** The recipe file as the user would name it (relative where possible). */
  file: string;
  /** Folder that bundled paths are relative to (the repository root for manifests/). */
  root: string;
}

export const isEncrypted = (file: RecipeFile): file is EncryptedRecipeFile => file.clear !== true;
