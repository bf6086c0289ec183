import { crc32 as zlibCrc32 } from "node:zlib";
import { expect, it } from "vitest";
import { crc32, tableCrc32 } from "./crc32.js";

const bytes = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 2654435761) >>> 24);

it("computes the zip CRC-32 with its tables exactly as zlib does, whole or continued over chunks of any size", () => {
  expect(tableCrc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  expect(tableCrc32(bytes)).toBe(zlibCrc32(bytes));
  let continued = 0;
  let at = 0;
  for (const size of [1, 7, 8, 4093, 65536, bytes.length]) {
    continued = tableCrc32(bytes.subarray(at, Math.min(bytes.length, at + size)), continued);
    at = Math.min(bytes.length, at + size);
  }
  expect(continued).toBe(zlibCrc32(bytes));
  expect(crc32(bytes, 12345)).toBe(tableCrc32(bytes, 12345));
});
