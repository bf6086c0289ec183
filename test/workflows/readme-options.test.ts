import { readFile } from "node:fs/promises";
import { expect, it } from "vitest";
import { commandSpecs } from "../../packages/cli/src/run-cli.js";
import { optionTables } from "../../scripts/readme-options-lib.js";

it("keeps the README's option tables as the commands' declarations generate them (pnpm readme:options rewrites them)", async () => {
  const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
  const tabled = ["recover", "pack", "recipe from-folder", "inspect", "convert"];
  for (const name of tabled) expect(readme).toContain(`<!-- options: ${name} -->`);
  expect(commandSpecs.map((s) => s.name)).toEqual(expect.arrayContaining(tabled));
  expect(optionTables(readme)).toBe(readme);
});
