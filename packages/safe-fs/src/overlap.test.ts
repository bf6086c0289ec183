import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { overlapOf } from "./overlap.js";

describe("overlapOf compares folders by what they are on disk", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "safe-fs-overlap-"));
    await mkdir(join(dir, "enc", "sub"), { recursive: true });
    await mkdir(join(dir, "out"));
    await writeFile(join(dir, "enc", "base.pth"), "x");
    await symlink(join(dir, "enc"), join(dir, "enc-link"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("sees the same folder through a symlink and a trailing dot-dot", async () => {
    expect(await overlapOf(join(dir, "enc-link"), join(dir, "enc"))).toBe("same");
    expect(await overlapOf(join(dir, "enc", "sub", ".."), join(dir, "enc"))).toBe("same");
  });

  it("sees nesting both ways, and a folder not yet made inside another", async () => {
    expect(await overlapOf(join(dir, "enc-link", "sub"), join(dir, "enc"))).toBe("inside");
    expect(await overlapOf(join(dir, "enc"), join(dir, "enc-link", "sub"))).toBe("contains");
    expect(await overlapOf(join(dir, "enc-link", "new", "deeper"), join(dir, "enc"))).toBe("inside");
    expect(await overlapOf(join(dir, "enc"), join(dir, "enc", "base.pth"))).toBe("contains");
  });

  it("sees two folders not made yet as the same, or nested, by name under their real ancestors", async () => {
    expect(await overlapOf(join(dir, "enc-link", "new", "a"), join(dir, "enc", "new", "a"))).toBe("same");
    expect(await overlapOf(join(dir, "new", "a", "b"), join(dir, "new", "a"))).toBe("inside");
    expect(await overlapOf(join(dir, "new"), join(dir, "enc-link", "..", "new", "a"))).toBe("contains");
    expect(await overlapOf(join(dir, "new", "a"), join(dir, "new", "ab"))).toBeUndefined();
  });

  it("finds no overlap between siblings, or with a folder not made yet elsewhere", async () => {
    expect(await overlapOf(join(dir, "out"), join(dir, "enc"))).toBeUndefined();
    expect(await overlapOf(join(dir, "out", "new"), join(dir, "enc"))).toBeUndefined();
  });
});
