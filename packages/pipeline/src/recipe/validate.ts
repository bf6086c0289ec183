import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ErrorObject } from "ajv";
import { bundledManifestsDir, pipelinesDir } from "../data-dirs.js";

// verbose: errors carry the offending value and schema, which the messages quote.
const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true, verbose: true });
const compile = (path: string) => ajv.compile(JSON.parse(readFileSync(path, "utf8")) as object);
const validators = {
  recipe: compile(join(bundledManifestsDir, "recipe.schema.json")),
  base: compile(join(bundledManifestsDir, "base.schema.json")),
  pipeline: compile(join(pipelinesDir, "pipeline.schema.json")),
};

const recipeSchemaId = (validators.recipe.schema as { $id: string }).$id;

const MAX_DEPTH = 16;

/** Depth of nested arrays and objects, counted without recursion (stops past MAX_DEPTH). */
function nestingDepth(value: unknown): number {
  let level: unknown[] = [value];
  let depth = 0;
  while (level.length > 0 && depth <= MAX_DEPTH) {
    level = level.flatMap((v) => (v !== null && typeof v === "object" ? Object.values(v) : []));
    if (level.length > 0 || depth === 0) depth++;
  }
  return depth;
}

/** What a value under each schema definition must be, in words a recipe author can act on. */
const expectations: Record<string, string> = {
  md5: "must be 32 lowercase hex digits (an md5) or null if the card does not publish it",
  sha256: "must be 64 lowercase hex digits (a sha256)",
  sha256OrUnknown: "must be 64 lowercase hex digits (a sha256) or null",
  fileName: "must be a plain file name (no / \\ or .., no control or reserved characters)",
  relativePath: "must be a relative path inside the repository (no leading /, no . or .. segments)",
  recipeName: "must be lowercase letters, digits, . _ - (like belle-13b-2m)",
  baseId: "must name a base under manifests/bases/ (lowercase letters, digits, . _ -, like llama-7b)",
  size: "must be a whole number of bytes",
};

/** Problems with a recipe name on its own (`pack --name`), in the words schema errors use; undefined when it is valid. */
export function recipeNameProblem(name: string): string | undefined {
  const validate = ajv.getSchema(`${recipeSchemaId}#/definitions/recipeName`)!;
  if (validate(name)) return undefined;
  return describe({ ...validate.errors![0]!, schemaPath: "#/definitions/recipeName/pattern", data: name });
}

/** Schema errors as one line each: `<file>: <json path>: <found> <what was expected>`. */
export function schemaProblems(file: string, value: unknown, kind: keyof typeof validators = "recipe"): string[] | undefined {
  // A recipe is four levels deep; a hostile one nested thousands deep would exhaust the stack.
  if (nestingDepth(value) > MAX_DEPTH) return [`${file}: /: nested more than ${MAX_DEPTH} levels deep; a ${kind} is a flat object with a list or two`];
  const validate = validators[kind];
  if (validate(value)) return undefined;
  // A failed "then" also reports the "if" that chose it, and a failed "oneOf" each branch; the
  // specific errors alone say what is wrong.
  const errors = (validate.errors ?? []).filter((e) => e.keyword !== "if" && !(e.keyword === "oneOf" && (validate.errors?.length ?? 0) > 1));
  return errors.map((error) => `${file}: ${error.instancePath || "/"}: ${describe(error)}`);
}

function describe(error: ErrorObject): string {
  const found = excerpt(error.data);
  const definition = /#\/definitions\/([A-Za-z0-9]+)\//.exec(error.schemaPath)?.[1];
  if (error.keyword === "additionalProperties") {
    return `unknown key "${String(error.params.additionalProperty)}" (allowed: ${allowedKeys(error)})`;
  }
  if (error.keyword === "required") return `missing required key "${String(error.params.missingProperty)}"`;
  if (error.keyword === "false schema") return error.schemaPath.includes("/definitions/file/") ? "is not allowed here (a clear file has no sha256 or encMd5)" : `is not allowed here (${error.schemaPath.startsWith("#/then/") ? "a tensor pipeline has no XOR settings" : "an XOR pipeline has no tensor settings"})`;
  if (error.keyword === "enum") return `${found} must be one of ${JSON.stringify(error.params.allowedValues)}`;
  const limit = error.params.limit as number;
  // Out-of-range values get the range, not the general rule they otherwise satisfy.
  if (error.keyword === "maxLength") return `${found} is ${String(error.data).length} characters long; at most ${limit} are allowed`;
  if (error.keyword === "minLength") return `${found} must not be empty`;
  if (error.keyword === "minimum") return `${found} must be at least ${limit}`;
  if (error.keyword === "maximum") return `${found} is more than ${limit}, the largest allowed${definition === "size" ? " (1 TiB)" : ""}`;
  if (definition && expectations[definition] && ["pattern", "type"].includes(error.keyword)) {
    return `${found} ${expectations[definition]}`;
  }
  return `${found} ${error.message ?? "is invalid"}`;
}

function allowedKeys(error: ErrorObject): string {
  const properties = (error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return properties ? Object.keys(properties).join(", ") : "see manifests/recipe.schema.json";
}

function excerpt(value: unknown): string {
  if (nestingDepth(value) > 8) return "(a deeply nested value)";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
