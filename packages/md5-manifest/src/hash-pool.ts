import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { Algorithm } from "./digests.js";

const workerUrl = new URL("../workers/hash-worker.js", import.meta.url);

/** Relative cost per byte, measured with node:crypto on SHA-NI machines (md5 ~0.75 GB/s, sha256 ~1.7 GB/s). */
const COST: Record<Algorithm, number> = { md5: 2.3, sha256: 1 };

interface Reply {
  seq: number;
  hex?: string;
  error?: string;
}

class HashThread {
  readonly worker: Worker;
  load = 0;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();

  constructor(buffer: SharedArrayBuffer) {
    this.worker = new Worker(workerUrl, { workerData: { buffer } });
    this.worker.on("message", (reply: Reply) => {
      const waiter = this.pending.get(reply.seq);
      this.pending.delete(reply.seq);
      if (reply.error) waiter?.reject(new Error(`hash worker: ${reply.error}`));
      else waiter?.resolve(reply);
    });
    this.worker.on("error", (error) => {
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    });
  }

  send(message: object): void {
    this.worker.postMessage(message);
  }

  request(message: object): Promise<Reply> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ ...message, seq });
    });
  }
}

/**
 * Hashes ranges of one SharedArrayBuffer on worker threads. Each stream lives on one thread (a hash
 * state cannot move), and streams are spread by expected cost, so md5 and sha256 of the same data,
 * or of different files, run on different cores. Updates of a stream are applied in the order given.
 */
export class HashPool {
  private readonly threads: HashThread[];
  private nextStream = 0;

  constructor(buffer: SharedArrayBuffer, threadCount = availableParallelism()) {
    this.threads = Array.from({ length: Math.max(1, threadCount) }, () => new HashThread(buffer));
  }

  /** Open a stream on the least-loaded thread; open the biggest streams first for the best spread. */
  open(algorithm: Algorithm, expectedBytes: number): PooledHash {
    const thread = this.threads.reduce((a, b) => (b.load < a.load ? b : a));
    const cost = COST[algorithm] * Math.max(expectedBytes, 1);
    thread.load += cost;
    const stream = ++this.nextStream;
    thread.send({ op: "open", stream, algorithm });
    return new PooledHash(thread, stream, cost);
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}

export class PooledHash {
  constructor(
    private readonly thread: HashThread,
    private readonly stream: number,
    private readonly cost: number,
  ) {}

  /** Hash bytes [offset, offset + length) of the shared buffer; resolves once they may be overwritten. */
  async update(offset: number, length: number): Promise<void> {
    await this.thread.request({ op: "update", stream: this.stream, offset, length });
  }

  async digest(): Promise<string> {
    const reply = await this.thread.request({ op: "digest", stream: this.stream });
    this.thread.load -= this.cost;
    return reply.hex!;
  }
}
