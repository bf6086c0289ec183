/**
 * What `model-recover inspect` finds, as `--json` prints it. The shape is documented in the README
 * ("Inspect and convert") and versioned by `version`: fields may be added, never renamed or removed
 * without a new version.
 */
export interface InspectReport {
  version: 1;
  /** The file or folder inspected, absolute. */
  path: string;
  kind: "file" | "folder";
  /** No problems: every check below passed. */
  consistent: boolean;
  problems: InspectProblem[];
  /** Facts that are not problems (a model type whose shapes are not checked...). */
  notes: string[];
  /** Folders only: the dimensions config.json gives, when it gives all of them. */
  config?: LlamaDimensions;
  /** Folders only: each weight format present, with its index and totals. */
  weightSets: WeightSet[];
  files: InspectedFile[];
}

export interface InspectProblem {
  /** The file the problem is in or about (a shard, an index, config.json), relative to the folder. */
  file: string;
  /** What is checked: "config" (shapes config.json implies), "pytorch" or "safetensors" (files and index). */
  scope: ProblemScope;
  message: string;
}

export type ProblemScope = "config" | WeightFormat;
export type WeightFormat = "pytorch" | "safetensors";

/** From config.json (transformers' LlamaConfig names in brackets). */
export interface LlamaDimensions {
  modelType: string;
  architectures: string[];
  /** hidden_size */
  hidden: number;
  /** intermediate_size */
  intermediate: number;
  /** num_hidden_layers */
  layers: number;
  /** num_attention_heads */
  heads: number;
  /** num_key_value_heads (LLaMA 2 70B's grouped-query attention), else num_attention_heads */
  kvHeads: number;
  /** head_dim, else hidden_size / num_attention_heads */
  headDim: number;
  /** vocab_size */
  vocab: number;
  /** tie_word_embeddings: lm_head.weight may then be absent */
  tiedEmbeddings: boolean;
}

export interface WeightSet {
  format: WeightFormat;
  /** pytorch_model.bin.index.json or model.safetensors.index.json, when the folder has it. */
  index: string | null;
  /** The weight files of this format, the ones the index names first. */
  files: string[];
  totals: WeightTotals;
}

export interface InspectedFile {
  /** As given for a file; relative to the folder for a folder's files. */
  file: string;
  format: WeightFormat;
  /** The file's size on disk. */
  bytes: number;
  /** In the file's order: state-dict order for .bin, header order for .safetensors. */
  tensors: InspectedTensor[];
  /** .bin: storages that more than one tensor views (tied weights, views at an offset). */
  sharedStorages: SharedStorage[];
  /** .safetensors: names convert.py dropped in favour of another that shares their storage (__metadata__). */
  droppedNames: Record<string, string>;
  /** .safetensors: the header's __metadata__ (format, dropped names...). */
  metadata: Record<string, string> | null;
  totals: WeightTotals;
}

export interface InspectedTensor {
  name: string;
  /** safetensors names: F16, BF16, F32, I64... */
  dtype: string;
  shape: number[];
  /** dtype size times elements. */
  bytes: number;
  /** .bin only: the storage it views and where (in elements), and its strides. */
  storage?: string;
  storageOffset?: number;
  stride?: number[];
}

export interface SharedStorage {
  storage: string;
  bytes: number;
  tensors: string[];
}

export interface WeightTotals {
  tensors: number;
  /**
   * Elements of every tensor, a name that is the very same view as another (a tied weight) counted
   * once, as PyTorch counts a model's parameters; buffers (rotary_emb.inv_freq) included.
   */
  parameters: number;
  /** Sum of every tensor's bytes, tied names included: what save_pretrained's metadata.total_size counts. */
  tensorBytes: number;
  /** Bytes of weight data stored: the distinct storages of a .bin, the data buffer of a .safetensors. */
  storedBytes: number;
  /** Tensor count per dtype. */
  dtypes: Record<string, number>;
}
