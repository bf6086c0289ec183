import { describe, expect, it } from "vitest";
import { layTorchSave } from "./torch-layout.js";
import { centralEntry, dataDescriptor, endOfArchive, layRecord } from "./zip-records.js";

// Zip64, as torch 1.13.1's miniz writes it (mz_zip_writer_add_mem_ex_v2, finalize_archive) and as
// inline_container.cc getPadding pads around it. A real > 4 GiB file is compared with torch by
// src/save/test-support/zip64-compare.ts, run by hand (see the README); these pin the rules.
const GiB = 2 ** 30;
const le64 = (bytes: Uint8Array, at: number) => Number(Buffer.from(bytes).readBigUInt64LE(at));
const le32 = (bytes: Uint8Array, at: number) => Buffer.from(bytes).readUInt32LE(at);
const le16 = (bytes: Uint8Array, at: number) => Buffer.from(bytes).readUInt16LE(at);

describe("a record of 0xFFFFFFFF bytes or more", () => {
  const big = layRecord("m/data/0", 128, 5 * GiB);

  it("has a zip64 field of its size and a compressed size of 0, then the padding field, data at a multiple of 64", () => {
    // header 30 + name 8 at offset 128 -> zip64 field at 166: id 1, 16 bytes, size, 0
    expect(le16(big.localHeader, 28)).toBe(20 + 4 + 2);
    expect(le16(big.localHeader, 38)).toBe(1);
    expect(le16(big.localHeader, 40)).toBe(16);
    expect(le64(big.localHeader, 42)).toBe(5 * GiB);
    expect(le64(big.localHeader, 50)).toBe(0);
    // 128 + 30 + 8 + 20 + 4 = 190: two bytes of 'Z' reach 192
    expect(Buffer.from(big.localHeader.subarray(58)).toString("latin1")).toBe("FB\x02\x00ZZ");
    expect(big.dataOffset).toBe(192);
    expect(le32(big.localHeader, 18)).toBe(0);
    expect(le32(big.localHeader, 22)).toBe(0);
  });

  it("ends with a data descriptor of 8-byte sizes", () => {
    const descriptor = dataDescriptor(big, 0x12345678);
    expect(descriptor.length).toBe(24);
    expect([le32(descriptor, 0), le32(descriptor, 4), le64(descriptor, 8), le64(descriptor, 16)]).toEqual([0x08074b50, 0x12345678, 5 * GiB, 5 * GiB]);
    expect(big.end).toBe(192 + 5 * GiB + 24);
  });

  it("has 0xFFFFFFFF sizes in the central directory and both real sizes in its zip64 field", () => {
    const entry = centralEntry(big, 7);
    expect([le32(entry, 20), le32(entry, 24), le32(entry, 42)]).toEqual([0xffffffff, 0xffffffff, 128]);
    expect(le16(entry, 30)).toBe(20);
    expect([le16(entry, 54), le16(entry, 56), le64(entry, 58), le64(entry, 66)]).toEqual([1, 16, 5 * GiB, 5 * GiB]);
  });

  it("starts at exactly 0xFFFFFFFF bytes; one byte less is a plain record", () => {
    // the name "a/b" ends at 33, where the extra fields begin: zip64 (id 1) or torch's "FB" (0x4246)
    expect(le16(layRecord("a/b", 0, 0xffffffff).localHeader, 33)).toBe(1);
    expect(le16(layRecord("a/b", 0, 0xfffffffe).localHeader, 33)).toBe(0x4246);
    expect(dataDescriptor(layRecord("a/b", 0, 0xfffffffe), 0).length).toBe(16);
  });
});

describe("a record whose header starts at 0xFFFFFFFF or beyond", () => {
  const late = layRecord("m/data/1", 4 * GiB + 100, 12);

  it("has a zip64 field of its header offset only, and a data descriptor of 8-byte sizes", () => {
    expect(le16(late.localHeader, 38)).toBe(1);
    expect(le16(late.localHeader, 40)).toBe(8);
    expect(le64(late.localHeader, 42)).toBe(4 * GiB + 100);
    expect(late.dataOffset % 64).toBe(0);
    expect(dataDescriptor(late, 1).length).toBe(24);
  });

  it("has its real sizes but an offset of 0xFFFFFFFF in the central directory", () => {
    const entry = centralEntry(late, 1);
    expect([le32(entry, 20), le32(entry, 24), le32(entry, 42)]).toEqual([12, 12, 0xffffffff]);
    expect([le16(entry, 54), le16(entry, 56), le64(entry, 58)]).toEqual([1, 8, 4 * GiB + 100]);
  });
});

describe("the end of the archive", () => {
  it("always has the zip64 end record and locator; the classic record caps what does not fit", () => {
    const end = endOfArchive(3, 6 * GiB, 250);
    expect([le32(end, 0), le64(end, 4), le16(end, 12), le16(end, 14), le64(end, 24), le64(end, 32), le64(end, 40), le64(end, 48)]).toEqual([0x06064b50, 44, 0x031e, 0x2d, 3, 3, 250, 6 * GiB]);
    expect([le32(end, 56), le32(end, 60), le64(end, 64), le32(end, 72)]).toEqual([0x07064b50, 0, 6 * GiB + 250, 1]);
    expect([le32(end, 76), le16(end, 84), le16(end, 86), le32(end, 88), le32(end, 92), le16(end, 96)]).toEqual([0x06054b50, 3, 3, 250, 0xffffffff, 0]);
  });
});

describe("layTorchSave", () => {
  it("puts records one after another in torch's order, each one's data at a multiple of 64", () => {
    const sizes = Array.from({ length: 12 }, (_, i) => (i === 1 ? 5 * GiB : i * 3));
    const layout = layTorchSave("pytorch_model-00001-of-00002", 1000, sizes);
    expect(layout.inFileOrder.map((r) => r.name.split("/").slice(1).join("/"))).toEqual(["data.pkl", ...["0", "1", "10", "11", "2", "3", "4", "5", "6", "7", "8", "9"].map((k) => `data/${k}`), "version"]);
    let offset = 0;
    for (const record of layout.inFileOrder) {
      expect(record.headerOffset).toBe(offset);
      expect(record.dataOffset % 64).toBe(0);
      offset = record.end;
    }
    expect(layout.directoryOffset).toBe(offset);
    expect(layout.storages[10]!.headerOffset).toBeGreaterThan(4 * GiB);
    expect(layout.totalBytes).toBe(offset + layout.directoryBytes + 98);
  });
});
