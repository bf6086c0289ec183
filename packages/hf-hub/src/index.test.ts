import { expect, it } from "vitest";
import * as api from "./index.js";

// The package's public API: an export added or removed is a decision, made here on purpose.
it("exports exactly its public API", () => {
  expect(Object.keys(api).sort()).toMatchSnapshot();
});
