/**
 * Run `run` over `items` with at most `limit` in flight: file system calls go through libuv's small
 * thread pool, so thousands of small reads (10,000 headers of a release) overlap without flooding it.
 * The first failure rejects; lanes already running finish their current item and stop.
 */
export async function eachWithLimit<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !failed) {
      await run(items[next++]!).catch((error: unknown) => {
        failed = true;
        throw error;
      });
    }
  });
  await Promise.all(lanes);
}
