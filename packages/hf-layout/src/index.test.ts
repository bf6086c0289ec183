import { expect, it } from "vitest";
import * as hfLayout from "./index.js";

it("exports exactly the API other packages code against", () => {
  expect(Object.keys(hfLayout).sort()).toEqual([
    "LayoutError",
    "checkHfFolder",
    "checkPlainFileName",
    "describeProblem",
    "encFileName",
    "parseEncFileName",
  ]);
});
