// A hash thread of HashPool (src/hash-pool.ts). Plain JavaScript so that it runs in a worker with no
// TypeScript loader, from src and from dist alike. It hashes ranges of the shared memory in place:
// chunk data is never copied to or from this thread.
import { createHash } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";

const memory = new Uint8Array(workerData.buffer);
const hashes = new Map();

parentPort.on("message", (message) => {
  try {
    if (message.op === "open") {
      hashes.set(message.stream, createHash(message.algorithm));
    } else if (message.op === "update") {
      hashes.get(message.stream).update(memory.subarray(message.offset, message.offset + message.length));
      parentPort.postMessage({ seq: message.seq });
    } else if (message.op === "digest") {
      const hex = hashes.get(message.stream).digest("hex");
      hashes.delete(message.stream);
      parentPort.postMessage({ seq: message.seq, hex });
    }
  } catch (error) {
    parentPort.postMessage({ seq: message.seq, error: String(error && error.stack ? error.stack : error) });
  }
});
