import { describe, expect, it } from "vitest";
import { runPool } from "./pool.js";


describe("runPool", () => {
  it("runs at most `concurrency` tasks at once and keeps the results in order", async () => {
    let running = 0;
    let most = 0;
    const results = await runPool([5, 4, 3, 2, 1, 0], 2, async (n) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      running--;
      return n * 10;
    });
    expect(results).toEqual([50, 40, 30, 20, 10, 0]);
    expect(most).toBe(2);
  });

  it("starts nothing new after a failure, waits for the running ones, then throws the failure", async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = runPool([0, 1, 2, 3, 4], 2, async (n) => {
      started.push(n);
      await new Promise((resolve) => setTimeout(resolve, n === 0 ? 30 : 1));
      if (n === 1) throw new Error("file 1 failed");
      finished.push(n);
    });
    await expect(run).rejects.toThrow("file 1 failed");
    expect(started).toEqual([0, 1]);
    expect(finished).toEqual([0]);
  });

  it("refuses a concurrency that is not a positive integer", async () => {
    await expect(runPool([1], 0, async () => 1)).rejects.toThrow("concurrency must be a positive integer, got 0");
  });
});
