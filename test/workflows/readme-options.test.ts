import { readFile } from "node:fs/promises";
import { expect, it } from "vitest";
import { commandSpecs } from "../../packages/cli/src/run-cli.js";
import { optionTables } from "../../scripts/readme-options-lib.js";

it("keeps the README's option tables as the commands' declarations generate them (pnpm readme:options rewrites them)", async () => {
  const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
  for (const name of ["recover", "pack", "recipe from-folder"]) expect(readme).toContain(`<!-- options: ${name} -->`);
  expect(commandSpecs.map((s) => s.name)).toEqual(expect.arrayContaining(["recover", "pack", "recipe from-folder"]));
  expect(optionTables(readme)).toBe(readme);
});
