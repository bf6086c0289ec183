import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertTorchFileToSafetensors } from "../convert/convert-file.js";
import { checkSafetensors, makeCheckpoints } from "../test-support/python.js";
import { readSafetensorsHeader } from "./read-header.js";

let dir: string;
let good: Buffer;
const bin = () => join(dir, "llama-mixed.bin");

beforeAll(async () => {
  dir = await makeCheckpoints("valid");
  await convertTorchFileToSafetensors(bin(), join(dir, "good.safetensors"));
  good = await readFile(join(dir, "good.safetensors"));
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The good file with its header JSON text edited, the length field and padding made to match. */
async function altered(name: string, edit: (json: string) => string, pad = true): Promise<string> {
  const n = Number(good.readBigUInt64LE(0));
  let json = edit(good.subarray(8, 8 + n).toString("utf8").trimEnd());
  if (pad) json = json.padEnd(Math.ceil(Buffer.byteLength(json) / 8) * 8, " ");
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const path = join(dir, `${name}.safetensors`);
  await writeFile(path, Buffer.concat([header, Buffer.from(json), good.subarray(8 + n)]));
  return path;
}

/** Moves the begin offset of the tensor named `name` by `delta` bytes. */
function shiftBegin(name: string, delta: number): (json: string) => string {
  return (json) => json.replace(new RegExp(`("${name.replaceAll(".", "\\.")}":\\{[^}]*"data_offsets":\\[)(\\d+)`), (_, head, begin) => `${head}${Number(begin) + delta}`);
}

describe("the header reader and check-safetensors.py agree on the format's rules", () => {
  it("a converted file passes both", async () => {
    const header = await readSafetensorsHeader(join(dir, "good.safetensors"));
    expect(header.dataStart % 8).toBe(0);
    expect(header.metadata).toMatchObject({ format: "pt" });
    const check = await checkSafetensors([[join(dir, "good.safetensors"), bin()]]);
    expect(check.code).toBe(0);
  }, 60_000);

  const broken: Record<string, [(json: string) => string, string, string]> = {
    "two tensors that overlap": [shiftBegin("model.norm.weight", -2), "inside the tensor before", "overlap"],
    "a hole between two tensors": [shiftBegin("model.norm.weight", 2), "a hole", "hole"],
    "an unknown dtype": [(json) => json.replace('"dtype":"I8"', '"dtype":"F17"'), 'dtype "F17", not a safetensors dtype', "dtype 'F17'"],
    "a duplicate name": [(json) => json.replace('"extra.i8":', '"extra.u8":'), 'duplicate key "extra.u8"', "duplicate names"],
    "a header that does not start with {": [(json) => ` ${json}`, 'not "{"', "does not start with {"],
    "a tensor of the wrong byte size": [(json) => json.replace('"shape":[7]', '"shape":[6]'), "needs 48", "spans 56 bytes"],
    "a shape that is not a list of integers": [(json) => json.replace('"shape":[7]', '"shape":[7.5]'), "shape that is not a list", "shape [7.5] is not a list of non-negative integers"],
  };
  for (const [what, [edit, ours, theirs]] of Object.entries(broken)) {
    it(`${what}: SAFETENSORS_INVALID here, and the checker fails`, async () => {
      const path = await altered(what.replaceAll(" ", "-"), edit);
      await expect(readSafetensorsHeader(path)).rejects.toMatchObject({ code: "SAFETENSORS_INVALID", message: expect.stringContaining(ours) });
      const check = await checkSafetensors([[path, bin()]]);
      expect(check.code).toBe(1);
      expect(check.stderr).toContain(theirs);
    }, 60_000);
  }

  it("an unpadded header: read (the Rust reader accepts it too), but the checker fails it", async () => {
    const path = await altered("unpadded", (json) => json, false);
    const header = await readSafetensorsHeader(path);
    expect(header.dataStart % 8).not.toBe(0);
    const check = await checkSafetensors([[path, bin()]]);
    expect(check.stderr).toContain("not padded to a multiple of 8");
    expect(check.code).toBe(1);
  }, 60_000);

  it("a 1 GB header length: HEADER_TOO_LARGE before anything is read or allocated, and the checker fails", async () => {
    const path = join(dir, "huge-header.safetensors");
    const bytes = Buffer.alloc(64, 0x20);
    bytes.writeBigUInt64LE(1_000_000_000n);
    await writeFile(path, bytes);
    await expect(readSafetensorsHeader(path)).rejects.toMatchObject({
      code: "HEADER_TOO_LARGE",
      message: `${path}: the header length says 1000000000 bytes; readers refuse more than 100000000 (safetensors MAX_HEADER_SIZE)`,
    });
    const check = await checkSafetensors([[path, bin()]]);
    expect(check.stderr).toContain("over 100,000,000");
  }, 60_000);

  it("a data buffer longer than the tensors: SAFETENSORS_INVALID", async () => {
    const path = join(dir, "trailing.safetensors");
    await writeFile(path, Buffer.concat([good, Buffer.alloc(8)]));
    await expect(readSafetensorsHeader(path)).rejects.toMatchObject({ code: "SAFETENSORS_INVALID", message: expect.stringContaining("but the file has") });
  });

  it("a file shorter than its header length, or than 8 bytes: SAFETENSORS_INVALID", async () => {
    const short = join(dir, "short.safetensors");
    await writeFile(short, good.subarray(0, 100));
    await expect(readSafetensorsHeader(short)).rejects.toMatchObject({ code: "SAFETENSORS_INVALID", message: expect.stringContaining("the file has 92 after it") });
    await writeFile(short, good.subarray(0, 5));
    await expect(readSafetensorsHeader(short)).rejects.toMatchObject({ code: "SAFETENSORS_INVALID" });
  });
});
