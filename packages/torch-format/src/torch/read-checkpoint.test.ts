import { open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Dtype, torchNameOf } from "../dtype.js";
import { makeCheckpoints } from "../test-support/python.js";
import { readTorchCheckpoint } from "./read-checkpoint.js";
import type { TorchTensor } from "./tensor.js";

interface TorchView {
  name: string;
  dtype: string;
  shape: number[];
  stride: number[];
  storage_offset: number;
  storage: number;
}

/** Tensors as make_checkpoints.py describes torch.load's view: storages numbered by first use. */
function asTorchSees(tensors: TorchTensor[], storageBytes: Map<string, number>): TorchView[] {
  const numbers = new Map<string, number>();
  return tensors.map((t) => {
    // torch gives every empty storage a null pointer: none is shared, whatever its key.
    const identity = storageBytes.get(t.storageKey) === 0 ? `empty:${t.name}` : t.storageKey;
    if (!numbers.has(identity)) numbers.set(identity, numbers.size);
    return {
      name: t.name,
      dtype: torchNameOf(t.dtype as Dtype).slice("torch.".length),
      shape: t.shape,
      stride: t.stride,
      storage_offset: t.storageOffset,
      storage: numbers.get(identity)!,
    };
  });
}

let dir: string;
beforeAll(async () => {
  dir = await makeCheckpoints("valid");
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("readTorchCheckpoint against torch.load (PyTorch 1.13.1)", () => {
  it("reads through a descriptor the caller opened, lists the same tensors, and leaves it open", async () => {
    const path = join(dir, "llama-mixed.bin");
    const handle = await open(path, "r");
    try {
      expect(await readTorchCheckpoint(path, { handle })).toEqual(await readTorchCheckpoint(path));
      expect((await handle.stat()).size).toBeGreaterThan(0);
    } finally {
      await handle.close();
    }
  });

  const cases = {
    "llama-mixed": "an OrderedDict with every dtype, tied and offset views, a 0-d and an empty tensor, a Parameter",
    "plain-dict": "a plain dict, as transformers' sharded save_pretrained writes",
    "module-state-dict": "nn.Module.state_dict() (OrderedDict state _metadata set by BUILD) with tied weights",
    "protocol-4": "pickle protocol 4 (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL)",
    "protocol-5": "pickle protocol 5",
    noncontiguous: "a transpose, a strided slice and an expanded (stride 0) view",
    nested: "{'state_dict': ..., 'epoch': 3, 'ema': tensor}, unwrapped as convert.py unwraps it",
    zip64: "a zip64 archive laid out as miniz writes one past 4 GiB",
    "python-zipfile": "a zip written by Python's zipfile: sizes in the local headers, zip64 fields, no alignment",
  };
  for (const [name, what] of Object.entries(cases)) {
    it(`lists the tensors torch reads, with dtype, shape, stride, storage offset and sharing: ${what}`, async () => {
      const path = join(dir, `${name}.bin`);
      const checkpoint = await readTorchCheckpoint(path);
      const torch = JSON.parse(await readFile(join(dir, `${name}.torch.json`), "utf8")) as TorchView[];
      const storageBytes = new Map(checkpoint.storages.map((s) => [s.key, s.byteLength]));
      expect(asTorchSees(checkpoint.tensors, storageBytes)).toEqual(torch);
    });
  }

  it("keeps each storage's key, record and place, in file order, keys sorting as torch.save sorts them", async () => {
    const checkpoint = await readTorchCheckpoint(join(dir, "llama-mixed.bin"));
    expect(checkpoint.archive).toBe("llama-mixed");
    expect(checkpoint.storages.map((s) => s.key).slice(0, 4)).toEqual(["0", "1", "10", "11"]);
    const bytes = await readFile(join(dir, "llama-mixed.bin"));
    for (const storage of checkpoint.storages) {
      expect(storage.record).toBe(`llama-mixed/data/${storage.key}`);
      expect(storage.dataOffset % 64, "torch.save aligns record data to 64 bytes").toBe(0);
      // The 16-byte data descriptor follows each non-empty record's data.
      if (storage.byteLength > 0) expect(bytes.readUInt32LE(storage.dataOffset + storage.byteLength)).toBe(0x08074b50);
    }
  });

  it("torch.save's layout, as the streaming converter relies on it: data.pkl first, storages in key order, descriptors, zip64 end records", async () => {
    const bytes = await readFile(join(dir, "llama-mixed.bin"));
    const records: { name: string; flags: number; sizes: number[]; extraId: string; dataAt: number }[] = [];
    for (let at = 0; bytes.readUInt32LE(at) === 0x04034b50; ) {
      const nameLength = bytes.readUInt16LE(at + 26);
      const extraLength = bytes.readUInt16LE(at + 28);
      const name = bytes.toString("utf8", at + 30, at + 30 + nameLength);
      const dataAt = at + 30 + nameLength + extraLength;
      records.push({ name, flags: bytes.readUInt16LE(at + 6), sizes: [bytes.readUInt32LE(at + 18), bytes.readUInt32LE(at + 22)], extraId: bytes.toString("latin1", at + 30 + nameLength, at + 32 + nameLength), dataAt });
      const next = bytes.indexOf("PK\x03\x04", dataAt, "latin1");
      at = next >= 0 ? next : bytes.length - 4;
    }
    const names = records.map((r) => r.name.slice("llama-mixed/".length));
    expect(names.slice(0, 5)).toEqual(["data.pkl", "data/0", "data/1", "data/10", "data/11"]);
    expect(names.at(-1)).toBe("version");
    for (const record of records) {
      expect(record.extraId, `${record.name}: the "FB" padding extra field`).toBe("FB");
      expect(record.dataAt % 64, `${record.name}: data on a 64-byte boundary`).toBe(0);
      expect(record.sizes, `${record.name}: sizes left to the descriptor`).toEqual([0, 0]);
    }
    // Flag bit 3 (a data descriptor follows) on every record but the empty tensor's.
    const { tensors } = await readTorchCheckpoint(join(dir, "llama-mixed.bin"));
    const empty = tensors.find((t) => t.name === "extra.empty")!;
    expect(records.filter((r) => !(r.flags & 0x08)).map((r) => r.name)).toEqual([`llama-mixed/data/${empty.storageKey}`]);
    expect(bytes.lastIndexOf("PK\x06\x06", undefined, "latin1"), "a zip64 end record, small as the file is").toBeGreaterThan(0);
  });

  it("keeps views as they are: a tied name on the same storage, a slice at its storage offset", async () => {
    const { tensors } = await readTorchCheckpoint(join(dir, "llama-mixed.bin"));
    const byName = new Map(tensors.map((t) => [t.name, t]));
    expect(byName.get("lm_head.weight")!.storageKey).toBe(byName.get("model.embed_tokens.weight")!.storageKey);
    expect(byName.get("extra.view_at_offset")).toMatchObject({ dtype: "F32", shape: [6], stride: [1], storageOffset: 4 });
    expect(byName.get("extra.whole_row1")).toMatchObject({ shape: [6], storageOffset: 6, storageKey: byName.get("extra.whole")!.storageKey });
    expect(byName.get("extra.scalar")).toMatchObject({ shape: [], stride: [] });
  });
});
