import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/**
 * The data packages (recipes, bases and schemas; pipeline definitions), found by module resolution,
 * so the same code works in this repository, from dist, and installed from npm, never by a relative
 * path out of src or dist.
 */
export const bundledManifestsDir = join(dirname(require.resolve("@model-recover/manifests/package.json")), "/");
export const pipelinesDir = join(dirname(require.resolve("@model-recover/pipelines/package.json")), "/");
