import { createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { HashPool } from "./hash-pool.js";

const shared = new SharedArrayBuffer(8 * 1024 * 1024);
const bytes = new Uint8Array(shared);
for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
const pool = new HashPool(shared, 2);
afterAll(() => pool.close());

describe("HashPool", () => {
  it("gives the same md5 and sha256 as node:crypto for ranges fed in order, on two threads", async () => {
    const md5 = pool.open("md5", bytes.length);
    const sha256 = pool.open("sha256", bytes.length);
    const pieces = [[0, 1_000_000], [1_000_000, 3], [1_000_003, 4_000_000], [5_000_003, bytes.length - 5_000_003]] as const;
    await Promise.all(pieces.flatMap(([offset, length]) => [md5.update(offset, length), sha256.update(offset, length)]));
    expect(await md5.digest()).toBe(createHash("md5").update(bytes).digest("hex"));
    expect(await sha256.digest()).toBe(createHash("sha256").update(bytes).digest("hex"));
  });

  it("keeps many streams apart", async () => {
    const streams = Array.from({ length: 20 }, (_, i) => ({ i, hash: pool.open(i % 2 ? "md5" : "sha256", 1000) }));
    await Promise.all(streams.map(({ i, hash }) => hash.update(i * 1000, 1000)));
    for (const { i, hash } of streams) {
      expect(await hash.digest()).toBe(createHash(i % 2 ? "md5" : "sha256").update(bytes.subarray(i * 1000, i * 1000 + 1000)).digest("hex"));
    }
  });

  it("hashes an empty stream", async () => {
    expect(await pool.open("md5", 0).digest()).toBe("d41d8cd98f00b204e9800998ecf8427e");
  });
});
