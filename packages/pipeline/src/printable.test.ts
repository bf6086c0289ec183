import { expect, it } from "vitest";
import { printable } from "./printable.js";

it("shows terminal controls as escapes and leaves other text, non-ASCII included, as it is", () => {
  expect(printable("config.json")).toBe("config.json");
  expect(printable("模型-00001.bin café")).toBe("模型-00001.bin café");
  expect(printable("\x1b[2J\x1b]0;pwned\x07title")).toBe("\\x1b[2J\\x1b]0;pwned\\x07title");
  expect(printable("a\nb\rc\td\u009bm")).toBe("a\\nb\\rc\\td\\x9bm");
  expect(printable("evil\u202etxt.exe")).toBe("evil\\u202etxt.exe");
});
