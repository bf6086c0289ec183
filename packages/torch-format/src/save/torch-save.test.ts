import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TorchSaveError } from "./errors.js";
import { contiguousStateDict, type StateDictSpec, storageBytes } from "./state-dict.js";
import { runPython } from "./test-support/python.js";
import { writeTorchSave, writeTorchSaveTo } from "./torch-save.js";

const CASES_SCRIPT = new URL("./test-support/torch_save_cases.py", import.meta.url).pathname;
const CASES = ["llama_like", "shapes", "shared", "late_tie", "one", "none", "thousand", "thousand_and_one"] as const;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "torch-save-"));
  await runPython(CASES_SCRIPT, ["make", dir]);
  await mkdir(join(dir, "ours"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loadCase(name: string): Promise<{ file: string; spec: StateDictSpec; storages: Buffer }> {
  const { file, spec } = JSON.parse(await readFile(join(dir, `${name}.json`), "utf8"));
  return { file, spec, storages: await readFile(join(dir, `${name}.storages`)) };
}

/** Each storage's bytes from the concatenation Python exported, in chunks of an awkward size. */
function chunkedSource(spec: StateDictSpec, all: Buffer, chunkBytes: number) {
  const starts = spec.storages.map((_, i) => spec.storages.slice(0, i).reduce((sum, s) => sum + storageBytes(s), 0));
  return async function* (index: number) {
    const start = starts[index]!;
    const end = start + storageBytes(spec.storages[index]!);
    for (let at = start; at < end; at += chunkBytes) yield all.subarray(at, Math.min(at + chunkBytes, end));
  };
}

const sha256 = async (path: string) => createHash("sha256").update(await readFile(path)).digest("hex");

describe("writeTorchSave against torch.save of torch 1.13.1", () => {
  it.each(CASES)("writes the %s state dict byte for byte as torch.save does", async (name) => {
    const { file, spec, storages } = await loadCase(name);
    await writeTorchSave(join(dir, "ours", file), spec, chunkedSource(spec, storages, 4099));
    expect(await sha256(join(dir, "ours", file))).toBe(await sha256(join(dir, "torch", file)));
  });

  it.each(["llama_like", "thousand"])("asked for storages in file order (%s), writes every byte at the next position, front to back", async (name) => {
    const { file, spec, storages } = await loadCase(name);
    const asked: number[] = [];
    const source = chunkedSource(spec, storages, 4099);
    const pieces: Buffer[] = [];
    let next = 0;
    await writeTorchSaveTo(
      async (bytes, position) => {
        expect(position).toBe(next);
        next += bytes.length;
        pieces.push(Buffer.from(bytes));
      },
      file,
      spec,
      (index) => {
        asked.push(index);
        return source(index);
      },
      { storageOrder: "file" },
    );
    expect(asked).toEqual(spec.storages.map((_, i) => i).map(String).sort().map(Number));
    expect(createHash("sha256").update(Buffer.concat(pieces)).digest("hex")).toBe(await sha256(join(dir, "torch", file)));
  });

  it("reads back in torch.load equal to the input, tensor by tensor, with the same storage sharing", async () => {
    expect((await runPython(CASES_SCRIPT, ["check", dir])).trim()).toBe("ok");
  });

  it("describes contiguous tensors with one storage each exactly as torch does", async () => {
    const { spec } = await loadCase("llama_like");
    const shapes = spec.tensors.map((t) => ({ name: t.name, dtype: spec.storages[t.storage]!.dtype, shape: t.shape }));
    expect(contiguousStateDict(shapes)).toEqual(spec);
  });
});

describe("writeTorchSave refuses what would not be torch.save's output", () => {
  const spec = contiguousStateDict([{ name: "w", dtype: "F16", shape: [2, 3] }]);
  const source = (bytes: number, chunk = bytes) =>
    async function* () {
      for (let at = 0; at < bytes; at += chunk) yield new Uint8Array(Math.min(chunk, bytes - at));
    };

  it("names the record and both sizes when a source ends early", async () => {
    const path = join(dir, "short.bin");
    await expect(writeTorchSave(path, spec, source(11, 4))).rejects.toThrow(`${path}: record short/data/0 should be 12 bytes but its source gave only 11;`);
  });

  it("stops at the first chunk that would overflow the record", async () => {
    const path = join(dir, "long.bin");
    await expect(writeTorchSave(path, spec, source(16, 8))).rejects.toMatchObject({ code: "SAVE_SOURCE_SIZE", message: expect.stringContaining("more than that (8 written before") });
  });

  it("refuses a file name that leaves torch's archive folder empty", async () => {
    const error = await writeTorchSave(join(dir, ".bin"), spec, source(12)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TorchSaveError);
    expect(error).toMatchObject({ code: "SAVE_BAD_FILE_NAME" });
  });
});
