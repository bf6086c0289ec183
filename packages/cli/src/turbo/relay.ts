import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BaseReceipt, RunReceipt } from "./run-receipt.js";

/**
 * The glue's end of the private channel to turbo's `recover` task (bin/turbo-relay.js): a Unix
 * socket in a folder only this user can enter (a named pipe on Windows). The task connects when
 * turbo decided the recovery is not cached and runs it; the glue then hands it the result.
 */
export class Relay {
  private socket?: Socket;
  readonly connected: Promise<void>;

  private constructor(
    readonly path: string,
    private readonly dir: string | undefined,
    private readonly server: ReturnType<typeof createServer>,
  ) {
    this.connected = new Promise((resolve) => {
      server.once("connection", (socket) => {
        this.socket = socket;
        resolve();
      });
    });
  }

  static async open(): Promise<Relay> {
    const dir = process.platform === "win32" ? undefined : await mkdtemp(join(tmpdir(), "model-recover-relay-"));
    const path = dir ? join(dir, "socket") : `\\\\.\\pipe\\model-recover-${process.pid}-${Date.now()}`;
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, resolve);
    });
    return new Relay(path, dir, server);
  }

  /** Hand the task the result; true once it has written the receipt. */
  async deliver(exitCode: number, receipt: RunReceipt | BaseReceipt): Promise<boolean> {
    const socket = this.socket;
    if (!socket) return false;
    return new Promise((resolve) => {
      let reply = "";
      socket.setEncoding("utf8");
      socket.on("data", (data: string) => (reply += data));
      socket.on("close", () => resolve(reply === "written\n"));
      socket.on("error", () => resolve(false));
      socket.write(`${JSON.stringify({ exitCode, receipt })}\n`);
    });
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
