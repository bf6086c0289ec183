import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { contiguousStateDict, convertTorchFileToSafetensors } from "@model-recover/torch-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectPath } from "./inspect.js";
import { llamaTensors, tiedStateDict, writeCheckpoint } from "./test-support/llama-folder.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "inspect-file-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("inspecting one weight file: every tensor, the totals, what shares a storage", () => {
  it("lists a .bin's tensors in state-dict order with dtype, shape, size and storage", async () => {
    const path = join(dir, "plain.bin");
    await writeCheckpoint(path, contiguousStateDict([{ name: "a", dtype: "F16", shape: [3, 4] }, { name: "b", dtype: "F32", shape: [5] }, { name: "c", dtype: "I64", shape: [] }]), 1);
    const report = await inspectPath(path);
    expect(report).toMatchObject({ version: 1, kind: "file", consistent: true, problems: [], weightSets: [] });
    const [file] = report.files;
    expect(file!.tensors).toEqual([
      { name: "a", dtype: "F16", shape: [3, 4], bytes: 24, storage: "0", storageOffset: 0, stride: [4, 1] },
      { name: "b", dtype: "F32", shape: [5], bytes: 20, storage: "1", storageOffset: 0, stride: [1] },
      { name: "c", dtype: "I64", shape: [], bytes: 8, storage: "2", storageOffset: 0, stride: [] },
    ]);
    expect(file!.totals).toEqual({ tensors: 3, parameters: 18, tensorBytes: 52, storedBytes: 52, dtypes: { F16: 1, F32: 1, I64: 1 } });
    expect(file!.sharedStorages).toEqual([]);
  });

  it("counts a tied weight's parameters once but its bytes twice (as save_pretrained's total_size does), and names the shared storage", async () => {
    const path = join(dir, "tied.bin");
    await writeCheckpoint(path, tiedStateDict(llamaTensors()), 2);
    const [file] = (await inspectPath(path)).files;
    const embed = 32 * 16;
    expect(file!.sharedStorages).toEqual([{ storage: "0", bytes: embed * 2, tensors: ["model.embed_tokens.weight", "lm_head.weight"] }]);
    expect(file!.totals.tensorBytes - file!.totals.storedBytes).toBe(embed * 2);
    expect(file!.totals.parameters * 2).toBe(file!.totals.storedBytes);
  });

  it("reads a .safetensors header: tensors in file order, the data buffer, the names convert.py dropped as shared", async () => {
    await writeCheckpoint(join(dir, "tied-for-st.bin"), tiedStateDict(llamaTensors()), 3);
    await convertTorchFileToSafetensors(join(dir, "tied-for-st.bin"), join(dir, "tied.safetensors"), { discardNames: ["lm_head.weight"] });
    const [bin] = (await inspectPath(join(dir, "tied-for-st.bin"))).files;
    const [st] = (await inspectPath(join(dir, "tied.safetensors"))).files;
    expect(st).toMatchObject({ format: "safetensors", sharedStorages: [], droppedNames: { "lm_head.weight": "model.embed_tokens.weight" }, metadata: { format: "pt", "lm_head.weight": "model.embed_tokens.weight" } });
    expect(st!.tensors.map((t) => t.name).sort()).toEqual(bin!.tensors.map((t) => t.name).filter((n) => n !== "lm_head.weight").sort());
    expect(st!.totals).toMatchObject({ tensors: bin!.totals.tensors - 1, parameters: bin!.totals.parameters, storedBytes: bin!.totals.storedBytes });
    const names = st!.tensors.map((t) => t.name);
    expect(names, "the reference writer's order: one dtype here, so by name").toEqual([...names].sort());
    expect(st!.tensors[0]).toEqual({ name: "model.embed_tokens.weight", dtype: "F16", shape: [32, 16], bytes: 1024 });
  });

  it("refuses what is not a weight file with the reader's one-line error naming it", async () => {
    const path = join(dir, "notes.bin");
    await writeFile(path, "not a checkpoint");
    await expect(inspectPath(path)).rejects.toMatchObject({ name: "TorchFormatError", code: "NOT_A_CHECKPOINT", message: `${path}: starts with bytes 6e6f7420, not a zip local header (504b0304); not a torch.save checkpoint` });
    const header = join(dir, "huge.safetensors");
    const bytes = Buffer.alloc(16, 0x20);
    bytes.writeBigUInt64LE(1_000_000_000n);
    await writeFile(header, bytes);
    await expect(inspectPath(header)).rejects.toMatchObject({ code: "HEADER_TOO_LARGE" });
    await expect(inspectPath(join(dir, "absent.bin"))).rejects.toMatchObject({ name: "InputFileError", code: "INPUT_MISSING", message: `${join(dir, "absent.bin")}: not found; expected a weight file (.bin or .safetensors) or a model folder` });
  });
});
