import { open } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import type { FaultState } from "./faults.js";

/** Bytes read and written at a time: big enough that the server is not what a benchmark measures. */
const PIECE_BYTES = 1 << 20;

/**
 * Writes bytes [start, end) of a file as the body of `res` (headers already written), with the
 * file's faults, and counts every byte handed to the socket. Memory stays at one piece in flight.
 */
export async function sendFileBody(res: ServerResponse, path: string, start: number, end: number, faults: FaultState, count: (bytes: number) => void): Promise<void> {
  const file = await open(path, "r");
  let lastWrite = Promise.resolve();
  try {
    for (let at = start; at < end && !res.destroyed; ) {
      const event = faults.nextEvent(at, end);
      if (event?.offset === at) {
        faults.consume(event);
        if (event.kind === "stall") {
          await delay(event.ms);
          continue;
        }
        await lastWrite;
        if (event.kind === "cut") res.socket?.resetAndDestroy();
        else res.socket?.end();
        return;
      }
      const pieceEnd = Math.min(end, at + PIECE_BYTES, event?.offset ?? end);
      const piece = Buffer.allocUnsafe(pieceEnd - at);
      await file.read(piece, 0, piece.length, at);
      const flip = faults.faults.flipByteAt;
      if (flip !== undefined && flip >= at && flip < pieceEnd) piece[flip - at]! ^= 0xff;
      count(piece.length);
      // The write's callback says the bytes reached the kernel: a cut or truncation waits for it.
      lastWrite = new Promise((resolve) => res.write(piece, () => resolve()));
      if (res.writableNeedDrain) await drained(res);
      at = pieceEnd;
    }
    const extra = faults.faults.overflowBytes ?? 0;
    if (extra > 0 && !res.destroyed) {
      count(extra);
      res.write(Buffer.alloc(extra, 0x5a));
    }
    res.end();
  } finally {
    await file.close();
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
