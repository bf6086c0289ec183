import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertTorchFileToSafetensors } from "../convert/convert-file.js";
import type { TorchFormatErrorCode } from "../errors.js";
import { checkSafetensors, makeCheckpoints, python } from "../test-support/python.js";
import { seededSizes, streamFile } from "../test-support/stream-file.js";
import { readTorchCheckpoint } from "./read-checkpoint.js";

/** Payloads that `touch` a file in the marker folder when torch.load unpickles them. */
const PAYLOADS: Record<string, string> = {
  "os-system": "os.system",
  "posix-system": "posix.system", // what torch.save itself writes for an object reducing to os.system
  "builtins-eval": "builtins.eval",
  "builtins-exec": "builtins.exec",
  "subprocess-popen": "subprocess.Popen",
  "torch-load": "torch.load",
  "functools-partial": "functools.partial",
  "stack-global": "os.system", // protocol 4's STACK_GLOBAL
};

const REFUSED: Record<string, [TorchFormatErrorCode, string]> = {
  ...Object.fromEntries(Object.entries(PAYLOADS).map(([file, global]) => [file, ["FORBIDDEN_GLOBAL", `names the global ${global}, which no state dict needs; refused, nothing was run`]])),
  "inst-opcode": ["UNSUPPORTED_OPCODE", "opcode INST (0x69)"],
  "protocol-1": ["UNSUPPORTED_OPCODE", "a pickle without PROTO (protocol 0 or 1"],
  "rebuild-called-wrongly": ["PICKLE_INVALID", "REDUCE calls torch.HalfStorage"],
  "key-escapes": ["UNSAFE_RECORD_NAME", 'storage key "../x", which would escape key-escapes/data/'],
  "key-absolute": ["UNSAFE_RECORD_NAME", 'storage key "/etc/passwd"'],
  "record-name-escapes": ["UNSAFE_RECORD_NAME", 'record "source/../evil"'],
  "numel-overflow": ["SIZE_OVERFLOW", 'storage "0"\'s element count is 4611686018427387904, beyond 2^53'],
  "shape-overflow": ["SIZE_OVERFLOW", "shape [2147483648, 2147483648, 2147483648]"],
  "tensor-past-storage": ["SIZE_MISMATCH", 'tensor "w" (shape [3], stride [1], storage offset 4) ends at byte 14 of storage "0", which holds 12 bytes'],
  "record-size-mismatch": ["SIZE_MISMATCH", "holds 10 bytes, but data.pkl declares a storage of 12 bytes"],
  "record-missing": ["RECORD_MISSING", "record-missing/data/1"],
  "complex-dtype": ["UNSUPPORTED_DTYPE", "torch.ComplexFloatStorage"],
  compressed: ["ZIP_INVALID", "is compressed (method 8); torch.save stores records uncompressed"],
  "big-endian": ["BIG_ENDIAN", 'source/byteorder says "big"'],
  legacy: ["LEGACY_FORMAT", "legacy (pre-1.6, non-zip) format, which is not supported"],
};

let dir: string;
let markers: string;
beforeAll(async () => {
  markers = await mkdtemp(join(tmpdir(), "torch-format-markers-"));
  dir = await makeCheckpoints("hostile", markers);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(markers, { recursive: true, force: true });
});

describe("hostile checkpoints: a typed one-line error naming the file and the problem, nothing run", () => {
  for (const [name, [code, problem]] of Object.entries(REFUSED)) {
    it(`${name}: ${code} when read, converted from the file, or streamed`, async () => {
      const path = join(dir, `${name}.bin`);
      const expected = { name: "TorchFormatError", code, file: path, message: expect.stringContaining(problem) };
      await expect(readTorchCheckpoint(path)).rejects.toMatchObject(expected);
      await expect(convertTorchFileToSafetensors(path, join(dir, `${name}.file.safetensors`))).rejects.toMatchObject(expected);
      await expect(streamFile(path, join(dir, `${name}.stream.safetensors`), seededSizes(1, 300))).rejects.toMatchObject(expected);
      await expect(readdir(dir)).resolves.not.toContain(`${name}.file.safetensors`);
    });
  }

  it("no payload ran: the marker folder is still empty", async () => {
    expect(await readdir(markers)).toEqual([]);
  });

  it("error messages are one line, starting with the file", async () => {
    for (const name of Object.keys(REFUSED)) {
      const error = await readTorchCheckpoint(join(dir, `${name}.bin`)).catch((e: Error) => e);
      expect((error as Error).message).toMatch(new RegExp(`^${join(dir, name).replaceAll("/", "\\/")}\\.bin: [^\\n]+$`));
    }
  });

  // Last: it runs the payloads, proving that each would have run under a trusting loader.
  it("every payload is live: torch.load (weights_only=False) runs each one", async () => {
    const run = await python("make_checkpoints.py", ["detonate", ...Object.keys(PAYLOADS).map((name) => join(dir, `${name}.bin`))]);
    await waitFor(async () => (await readdir(markers)).length === Object.keys(PAYLOADS).length, 5_000);
    expect((await readdir(markers)).sort(), run.stderr).toEqual(Object.keys(PAYLOADS).sort());
  }, 60_000);
});

async function waitFor(done: () => Promise<boolean>, ms: number): Promise<void> {
  // subprocess.Popen's `touch` runs on after the loader returns.
  for (const start = Date.now(); !(await done()) && Date.now() - start < ms; ) await new Promise((r) => setTimeout(r, 50));
}

describe("what the converters refuse that the reader lists", () => {
  it("tensors sharing a storage with no complete name: SHARED_STORAGE, as convert.py refuses them", async () => {
    const path = join(dir, "shared-no-complete.bin");
    await expect(readTorchCheckpoint(path)).resolves.toMatchObject({ tensors: [{ name: "a" }, { name: "b" }] });
    await expect(convertTorchFileToSafetensors(path, join(dir, "shared.safetensors"))).rejects.toMatchObject({
      code: "SHARED_STORAGE",
      message: expect.stringContaining('tensors "a", "b" share storage "0" and none covers all of it'),
    });
  });

  it("a storage record before data.pkl: STREAM_ORDER when streamed (it cannot be placed yet), converted from the file", async () => {
    const path = join(dir, "storage-before-pickle.bin");
    await expect(streamFile(path, join(dir, "order.safetensors"), seededSizes(2, 4096))).rejects.toMatchObject({
      code: "STREAM_ORDER",
      message: expect.stringContaining("source/data/0 arrives before data.pkl"),
    });
    await convertTorchFileToSafetensors(path, join(dir, "order.safetensors"));
    const check = await checkSafetensors([[join(dir, "order.safetensors"), path]]);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
  }, 60_000);
});
