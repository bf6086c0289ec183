import { execFileSync, spawn } from "node:child_process";
import { chmod, mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readHubToken } from "./token.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "hf-hub-token-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("readHubToken", () => {
  it("reads HF_TOKEN, dropping line breaks and blanks as huggingface_hub does", async () => {
    expect(await readHubToken({ env: { HF_TOKEN: " hf_abc\r\n" } })).toBe("hf_abc");
  });

  it("is undefined without HF_TOKEN, or with an empty one", async () => {
    expect(await readHubToken({ env: {} })).toBeUndefined();
    expect(await readHubToken({ env: { HF_TOKEN: "\n" } })).toBeUndefined();
  });

  it("prefers a named token file to HF_TOKEN", async () => {
    const file = join(dir, "token");
    await writeFile(file, "hf_fromfile\n");
    expect(await readHubToken({ tokenFile: file, env: { HF_TOKEN: "hf_fromenv" } })).toBe("hf_fromfile");
  });

  it("is HUB_TOKEN, naming the file, for a token file that is missing, unreadable or empty", async () => {
    await expect(readHubToken({ tokenFile: join(dir, "nope") })).rejects.toMatchObject({ code: "HUB_TOKEN", message: `token file ${join(dir, "nope")}: cannot be read (ENOENT); name a file holding a Hugging Face token` });
    await expect(readHubToken({ tokenFile: dir })).rejects.toMatchObject({ code: "HUB_TOKEN", message: `token file ${dir}: is a folder, not a file; name a file holding a Hugging Face token` });
    const empty = join(dir, "empty");
    await writeFile(empty, "  \n");
    await expect(readHubToken({ tokenFile: empty })).rejects.toMatchObject({ code: "HUB_TOKEN", message: `token file ${empty}: holds no token (the file is empty)` });
    if (process.getuid?.() !== 0) {
      const locked = join(dir, "locked");
      await writeFile(locked, "hf_x");
      await chmod(locked, 0o000);
      await expect(readHubToken({ tokenFile: locked })).rejects.toMatchObject({ code: "HUB_TOKEN", message: expect.stringContaining("(EACCES)") });
    }
  });

  it("reads a pipe to its end, as --token-file <(command) passes one, and gives up on one nobody writes (issue 10)", async () => {
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    // The writer opens the FIFO after the reader, and writes late: both are waited for.
    const writer = spawn("sh", ["-c", `sleep 0.3; printf 'hf_piped\\n' > '${fifo}'`]);
    const exited = new Promise((done) => writer.once("exit", done));
    expect(await readHubToken({ tokenFile: fifo })).toBe("hf_piped");
    await exited;
    const started = Date.now();
    await expect(readHubToken({ tokenFile: fifo })).rejects.toMatchObject({ code: "HUB_TOKEN", message: `token file ${fifo}: is a pipe that gave no token within 3 s; name a file holding a Hugging Face token, or a command that prints one (--token-file <(command))` });
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("refuses a socket at once", async () => {
    const socket = join(dir, "socket");
    const server = createServer().listen(socket);
    try {
      await expect(readHubToken({ tokenFile: socket })).rejects.toMatchObject({ code: "HUB_TOKEN", message: `token file ${socket}: is a socket, not a file; name a file holding a Hugging Face token` });
    } finally {
      server.close();
    }
  });

  it("refuses a huge token file by its size, without reading it (issue 10)", async () => {
    const huge = join(dir, "huge");
    await writeFile(huge, "hf_abc\n");
    await truncate(huge, 8 * 1024 ** 4);
    await expect(readHubToken({ tokenFile: huge })).rejects.toMatchObject({ code: "HUB_TOKEN", message: `token file ${huge}: 8796093022208 bytes is too big for a token file (at most 65536); name a file holding a Hugging Face token` });
  });

  it("refuses a token a header cannot carry, without printing it", async () => {
    const secret = "hf_two words";
    const error = await readHubToken({ env: { HF_TOKEN: secret } }).catch((e: Error) => e);
    expect(error).toMatchObject({ code: "HUB_TOKEN", message: "HF_TOKEN holds spaces or characters outside visible ASCII; it cannot be sent in a header" });
    expect(String(error)).not.toContain("two words");
  });
});
