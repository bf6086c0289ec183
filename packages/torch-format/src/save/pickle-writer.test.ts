import { expect, it } from "vitest";
import { PickleWriter } from "./pickle-writer.js";
import { runPython } from "./test-support/python.js";

it("encodes ints as CPython's pickle does at protocol 2, LONG1 from 2**31 on", async () => {
  const values = [0, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, 2 ** 53 - 1];
  const script = `import pickle, sys\nfor v in sys.argv[1:]: print(pickle.dumps(int(v), 2)[2:-1].hex())`;
  const python = (await runPython("-c", [script, ...values.map(String)])).trim().split("\n");
  const ours = values.map((v) => Buffer.from(new PickleWriter().int(v).bytes()).toString("hex"));
  expect(ours).toEqual(python);
});

it("memoizes with BINPUT up to slot 255 and LONG_BINPUT after, as _pickle.c does", () => {
  const p = new PickleWriter();
  for (let i = 0; i < 257; i++) p.op("EMPTY_TUPLE").put();
  p.get(3).get(256);
  const bytes = Buffer.from(p.bytes());
  expect(bytes.subarray(254 * 3, 257 * 3 + 3).toString("hex")).toBe("29 71fe 29 71ff 29 7200010000".replaceAll(" ", ""));
  expect(bytes.subarray(-7).toString("hex")).toBe("6803 6a00010000".replaceAll(" ", ""));
});
