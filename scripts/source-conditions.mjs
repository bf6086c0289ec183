// A module hook that resolves with the "source" export condition, as `node --conditions=source` does:
// registered at run time, so that a bin started by pnpm can run the TypeScript sources in-process.
/** @type {import("node:module").ResolveHook} */
export async function resolve(specifier, context, nextResolve) {
  return nextResolve(specifier, { ...context, conditions: [...context.conditions, "source"] });
}
