import { open, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSafetensorsHeader } from "../safetensors/read-header.js";
import { checkSafetensors, makeCheckpoints } from "../test-support/python.js";
import { seededSizes, streamFile } from "../test-support/stream-file.js";
import { convertTorchFileToSafetensors } from "./convert-file.js";
import { TorchToSafetensorsStream } from "./torch-to-safetensors-stream.js";

const STREAMABLE = ["llama-mixed", "plain-dict", "module-state-dict", "protocol-4", "protocol-5", "nested", "zip64", "python-zipfile"];
/** Chunkings, and the checkpoints each is tried on: 1-byte chunks on the three zip layouts only (slow). */
const CHUNKINGS: Record<string, [() => () => number, string[]]> = {
  "1-byte chunks": [() => () => 1, ["llama-mixed", "zip64", "python-zipfile"]],
  "seeded chunks of 1 to 300 bytes": [() => seededSizes(42, 300), STREAMABLE],
  "4 KiB chunks": [() => () => 4096, STREAMABLE],
  "1 MiB chunks (the whole file at once)": [() => () => 1 << 20, STREAMABLE],
};

let dir: string;
const at = (name: string) => join(dir, name);
beforeAll(async () => {
  dir = await makeCheckpoints("valid");
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("convertTorchFileToSafetensors and TorchToSafetensorsStream", () => {
  it("file conversions of every checkpoint pass check-safetensors.py: format rules, convert.py's names, every tensor bit for bit", async () => {
    const names = [...STREAMABLE, "noncontiguous"];
    for (const name of names) await convertTorchFileToSafetensors(at(`${name}.bin`), at(`${name}.safetensors`));
    const check = await checkSafetensors(names.map((name) => [at(`${name}.safetensors`), at(`${name}.bin`)]));
    expect(check.stderr).toBe("");
    expect(check.stdout.trim().split("\n")).toHaveLength(names.length);
    expect(check.code).toBe(0);
  }, 60_000);

  for (const [chunking, [sizes, names]] of Object.entries(CHUNKINGS)) {
    it(`streaming in ${chunking} writes the same bytes as the file conversion (${names.join(", ")})`, async () => {
      for (const name of names) {
        const streamed = await streamFile(at(`${name}.bin`), at(`${name}.streamed`), sizes());
        expect(await readFile(at(`${name}.streamed`)), name).toEqual(await readFile(at(`${name}.safetensors`)));
        expect(streamed.bytesWritten).toBe((await readFile(at(`${name}.safetensors`))).length);
      }
    }, 60_000);
  }

  it("streaming writes the header first, then every data byte exactly once, inside the file", async () => {
    const bin = await readFile(at("llama-mixed.bin"));
    const writes: [number, number][] = [];
    const converter = new TorchToSafetensorsStream({ write: async (bytes, position) => void writes.push([position, bytes.length]) });
    for (let i = 0; i < bin.length; i += 999) await converter.push(bin.subarray(i, i + 999));
    const result = await converter.end();
    expect(writes[0]).toEqual([0, result.header.length]);
    const covered = new Uint8Array(result.bytesWritten);
    for (const [position, length] of writes) for (let i = position; i < position + length; i++) covered[i]!++;
    expect(covered.every((count) => count === 1)).toBe(true);
  });

  it("reports what it wrote: the header's bytes and tensors, the dropped names, the sizes", async () => {
    const result = await convertTorchFileToSafetensors(at("llama-mixed.bin"), at("report.safetensors"));
    const file = await readFile(at("report.safetensors"));
    const header = await readSafetensorsHeader(at("report.safetensors"));
    expect(Buffer.from(result.header)).toEqual(file.subarray(0, header.dataStart));
    expect(result.tensors).toEqual(header.tensors);
    expect(result.metadata).toEqual(header.metadata);
    expect(result.droppedNames).toEqual({ "model.embed_tokens.weight": "lm_head.weight", "extra.whole_row1": "extra.whole", "extra.chain_b": "extra.chain_whole" });
    expect(result.dataBytes).toBe(header.dataBytes);
    expect(result.bytesWritten).toBe(file.length);
  });

  it("writes through a handle the caller opened, leaving it open; on failure the file is the caller's to discard", async () => {
    const handle = await open(at("handle.safetensors"), "wx");
    try {
      const result = await convertTorchFileToSafetensors(at("llama-mixed.bin"), handle);
      expect((await handle.stat()).size).toBe(result.bytesWritten);
      await convertTorchFileToSafetensors(at("llama-mixed.bin"), at("by-path.safetensors"));
      expect(await readFile(at("handle.safetensors"))).toEqual(await readFile(at("by-path.safetensors")));
    } finally {
      await handle.close();
    }
    const refused = await open(at("refused.safetensors"), "wx");
    await expect(convertTorchFileToSafetensors(at("missing.bin"), refused)).rejects.toMatchObject({ code: "ENOENT" });
    await refused.close();
    await expect(readFile(at("refused.safetensors"))).resolves.toHaveLength(0);
  });

  it("keeps the names convert.py keeps when given transformers' _tied_weights_keys as discardNames", async () => {
    await convertTorchFileToSafetensors(at("llama-mixed.bin"), at("discard.safetensors"), { discardNames: ["lm_head.weight"] });
    await streamFile(at("module-state-dict.bin"), at("module-discard.safetensors"), () => 100, { discardNames: ["0.weight"] });
    const header = await readSafetensorsHeader(at("discard.safetensors"));
    expect(header.metadata).toMatchObject({ "lm_head.weight": "model.embed_tokens.weight" });
    const pairs: [string, string][] = [[at("discard.safetensors"), at("llama-mixed.bin")], [at("module-discard.safetensors"), at("module-state-dict.bin")]];
    const check = await checkSafetensors(pairs, ["lm_head.weight", "0.weight"]);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
  }, 60_000);

  it("copies non-contiguous views in C order from the file; streaming refuses them by name", async () => {
    // The file conversion passed the checker above (transpose, strided slice, stride-0 expand).
    await expect(streamFile(at("noncontiguous.bin"), at("noncontiguous.streamed"), () => 4096)).rejects.toMatchObject({
      code: "NON_CONTIGUOUS",
      message: expect.stringContaining('tensor "every_other_column" is a non-contiguous view (shape [4, 3], stride [6, 2])'),
    });
  });
});

describe("damaged streams and files", () => {
  const cuts: Record<string, (bin: Buffer) => number> = {
    "inside data.pkl": () => 200,
    "inside a storage record": (bin) => bin.indexOf("llama-mixed/data/7") + 100,
    "inside the central directory": (bin) => bin.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 10,
    "inside the end record": (bin) => bin.length - 5,
  };
  for (const [where, cutAt] of Object.entries(cuts)) {
    it(`a checkpoint cut ${where} is ZIP_TRUNCATED, streamed or read`, async () => {
      const path = at(`cut-${where.replaceAll(" ", "-")}.bin`);
      const bin = await readFile(at("llama-mixed.bin"));
      await writeFile(path, bin);
      await truncate(path, cutAt(bin));
      const truncated = { code: "ZIP_TRUNCATED", message: expect.stringMatching(/truncated/) };
      await expect(streamFile(path, `${path}.safetensors`, () => 512)).rejects.toMatchObject(truncated);
      await expect(convertTorchFileToSafetensors(path, `${path}.safetensors`)).rejects.toMatchObject(truncated);
    });
  }

  it("bytes after the zip's end record are ZIP_INVALID when streamed", async () => {
    const converter = new TorchToSafetensorsStream({ write: async () => {} });
    await converter.push(await readFile(at("llama-mixed.bin")));
    await expect(converter.push(Uint8Array.of(1, 2, 3))).rejects.toMatchObject({ code: "ZIP_INVALID", message: expect.stringContaining("bytes after the zip's end record") });
  });

  it("a data.pkl with no descriptor in sight is refused at 16 MiB, not gathered without end", async () => {
    const header = Buffer.alloc(40);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(0x0808, 6); // sizes in a data descriptor, as torch.save writes them
    header.writeUInt16LE(10, 26);
    header.write("a/data.pkl", 30);
    const converter = new TorchToSafetensorsStream({ write: async () => {}, source: "endless.bin" });
    await converter.push(header);
    const pushes = (async () => {
      for (let i = 0; i < 64; i++) await converter.push(new Uint8Array(1 << 20).fill(0x41));
    })();
    await expect(pushes).rejects.toMatchObject({ code: "SIZE_MISMATCH", message: "endless.bin: a/data.pkl is over 16777216 bytes; torch.save writes it far smaller" });
  });

  it("an empty stream is NOT_A_CHECKPOINT", async () => {
    await expect(new TorchToSafetensorsStream({ write: async () => {}, source: "empty.bin" }).end()).rejects.toMatchObject({
      code: "NOT_A_CHECKPOINT",
      message: "empty.bin: the file is empty; a torch.save checkpoint is a zip",
    });
  });

  it("a failing write rejects that push and every later call with the same error", async () => {
    const disk = new Error("ENOSPC: no space left on device");
    const converter = new TorchToSafetensorsStream({ write: () => Promise.reject(disk) });
    const bin = await readFile(at("llama-mixed.bin"));
    await expect(converter.push(bin.subarray(0, 10_000))).rejects.toBe(disk);
    await expect(converter.push(bin.subarray(10_000))).rejects.toBe(disk);
    await expect(converter.end()).rejects.toBe(disk);
  });
});
