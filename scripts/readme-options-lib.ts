import { markdownTable } from "../packages/cli/src/options.js";
import { commandSpecs } from "../packages/cli/src/run-cli.js";

const BLOCK = /<!-- options: ([a-z -]+) -->\n[\s\S]*?<!-- \/options -->/g;

/** `readme` with every option table replaced by the one its command's declaration generates. */
export function optionTables(readme: string): string {
  return readme.replace(BLOCK, (_, name: string) => {
    const spec = commandSpecs.find((s) => s.name === name);
    if (!spec) throw new Error(`README.md: no command "${name}" for an options table`);
    return `<!-- options: ${name} -->\n${markdownTable(spec)}\n<!-- /options -->`;
  });
}
