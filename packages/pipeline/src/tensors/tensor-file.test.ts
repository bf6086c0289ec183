import { execFileSync } from "node:child_process";
import { appendFile, mkdtemp, readFile, rm, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertTorchFileToSafetensors } from "@model-recover/torch-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pythonOk, SCRIPTS } from "../test-support/torch.js";
import { TensorFile } from "./tensor-file.js";

interface Dumped {
  name: string;
  dtype: string;
  shape: number[];
  contiguous: boolean;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tensor-file-"));
  await pythonOk(SCRIPTS.makeCheckpoints, ["valid", dir, "--seed", "11"]);
  for (const name of ["llama-mixed", "noncontiguous"]) await pythonOk(SCRIPTS.dumpTensors, [join(dir, `${name}.bin`), join(dir, `${name}.dump`)]);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function dumped(name: string): Promise<{ tensor: Dumped; bytes: Buffer }[]> {
  const index = JSON.parse(await readFile(join(dir, `${name}.dump`, "index.json"), "utf8")) as Dumped[];
  return Promise.all(index.map(async (tensor, i) => ({ tensor, bytes: await readFile(join(dir, `${name}.dump`, String(i))) })));
}

/** A tensor read back in two row ranges, split in the middle: what a row-block reader asks for. */
async function readInTwo(file: TensorFile, name: string): Promise<Buffer> {
  const { rows } = file.tensor(name)!;
  const half = Math.floor(rows / 2);
  return Buffer.concat([await file.readRows(name, 0, half), await file.readRows(name, half, rows - half)]);
}

describe("TensorFile: rows of a checkpoint's tensors, read by pread", () => {
  it("reads every tensor of a torch.save checkpoint as torch.load gives it: every dtype, offset and tied views, 0-d and empty", async () => {
    const file = await TensorFile.open(join(dir, "llama-mixed.bin"));
    try {
      expect(file.format).toBe("torch");
      for (const { tensor, bytes } of await dumped("llama-mixed")) {
        expect(file.tensor(tensor.name)?.shape, tensor.name).toEqual(tensor.shape);
        expect((await readInTwo(file, tensor.name)).equals(bytes), tensor.name).toBe(true);
      }
    } finally {
      await file.close();
    }
  });

  it("reads a safetensors file the same, from its header's offsets", async () => {
    const path = join(dir, "llama-mixed.safetensors");
    const { tensors } = await convertTorchFileToSafetensors(join(dir, "llama-mixed.bin"), path);
    const kept = new Set(tensors.map((t) => t.name));
    const file = await TensorFile.open(path);
    try {
      expect(file.format).toBe("safetensors");
      for (const { tensor, bytes } of (await dumped("llama-mixed")).filter(({ tensor }) => kept.has(tensor.name))) {
        expect((await readInTwo(file, tensor.name)).equals(bytes), tensor.name).toBe(true);
      }
    } finally {
      await file.close();
    }
  });

  it("refuses a strided view by name, and reads the contiguous tensors beside it", async () => {
    const file = await TensorFile.open(join(dir, "noncontiguous.bin"));
    try {
      await expect(file.readRows("transposed", 0, 1)).rejects.toMatchObject({ code: "TENSOR_NOT_CONTIGUOUS", message: expect.stringContaining('noncontiguous.bin: tensor "transposed" is a strided view (shape [4, 3], stride [1, 4])') });
      const plain = (await dumped("noncontiguous")).find(({ tensor }) => tensor.name === "plain")!;
      expect((await readInTwo(file, "plain")).equals(plain.bytes)).toBe(true);
    } finally {
      await file.close();
    }
  });

  it("refuses a FIFO at once instead of waiting for a writer", async () => {
    const fifo = join(dir, "fifo.pth");
    execFileSync("mkfifo", [fifo]);
    await expect(TensorFile.open(fifo, "original checkpoint")).rejects.toMatchObject({ code: "INPUT_NOT_REGULAR", message: `${fifo}: is a FIFO (named pipe), expected the original checkpoint as a regular file` });
  });

  it("says so when the file shrinks or changes after it was opened", async () => {
    const path = join(dir, "shrinks.bin");
    await appendFile(path, await readFile(join(dir, "llama-mixed.bin")));
    const file = await TensorFile.open(path);
    try {
      const last = file.tensors.filter((t) => t.rows * t.rowBytes > 0).at(-1)!;
      await truncate(path, last.offset!);
      await expect(file.readRows(last.name, 0, last.rows)).rejects.toMatchObject({ code: "INPUT_CHANGED", message: expect.stringContaining(`${path}: ends at byte ${last.offset}, inside tensor ${last.name}`) });
      await expect(file.checkUnchanged()).rejects.toMatchObject({ code: "INPUT_CHANGED", message: expect.stringContaining(`${path}: changed while being read`) });
    } finally {
      await file.close();
    }
  });
});
