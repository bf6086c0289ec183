import { expect, it } from "vitest";
import { asciiJson } from "./ascii-json.js";

it("writes what Python's json.dumps(value, indent=4) writes: every character past ASCII escaped, DEL and controls too", () => {
  // /usr/bin/python3 -c 'import json; print(repr(json.dumps({"é\u202e😀\x7f\n": [1, {}], "e": {}}, indent=4)))'
  const python = '{\n    "\\u00e9\\u202e\\ud83d\\ude00\\u007f\\n": [\n        1,\n        {}\n    ],\n    "e": {}\n}';
  expect(asciiJson({ "é\u202e😀\x7f\n": [1, {}], e: {} }, 4)).toBe(python);
});
