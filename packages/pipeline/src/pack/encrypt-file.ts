import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { constants } from "node:fs";
import { copyFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createGzip } from "node:zlib";
import { openRegularFile } from "@model-recover/safe-fs";
import { InputError } from "../errors.js";
import { hashFile, MultiHasher } from "@model-recover/md5-manifest";
import { KEY_CHUNK_BYTES, Keystream, type KeySource } from "@model-recover/xor-core";
import type { PipelineDefinition } from "../recipe/pipelines.js";
import { TempOutput } from "../recover/temp-output.js";

export interface EncryptedFile {
  name: string;
  encName: string;
  /** Size of the plaintext. */
  bytes: number;
  sha256: string;
  md5: string;
  encMd5: string;
}

/**
 * Write one payload file the way `pipeline` names and lays it out: for spec §1 a 32-byte sha256
 * header, then the XORed plaintext, as `<name>.<sha256>.enc`; without a key it is copied as it is
 * (spec §2's added_tokens.json). The header needs the whole plaintext, so the plaintext is read twice:
 * once to hash it, once to encrypt it (hashing the output on the way for the card).
 */
export async function encryptFile(plainPath: string, name: string, key: KeySource | undefined, outDir: string, pipeline: PipelineDefinition): Promise<EncryptedFile> {
  const plain = await hashFile(plainPath, ["sha256", "md5"]);
  const sha256 = plain.sha256!;
  const encName = pipeline.encryptedName.replace("{name}", name).replace("{sha256}", sha256);
  const output = await TempOutput.create(packTempPath(outDir), join(outDir, encName));
  try {
    const encHasher = new MultiHasher(["md5"]);
    const headerBytes = pipeline.header === "sha256" ? 32 : 0;
    if (headerBytes > 0) {
      const header = Buffer.from(sha256, "hex");
      encHasher.update(header);
      await output.write(header, 0);
    }
    const keystream = key ? new Keystream(key) : undefined;
    const sink = payloadSink(pipeline, output, headerBytes, encHasher);
    const buffer = new Uint8Array(KEY_CHUNK_BYTES);
    const { handle: input } = await openRegularFile(plainPath, "model file");
    try {
      for (let done = 0; done < plain.bytes; ) {
        const { bytesRead } = await input.read(buffer, 0, Math.min(buffer.length, plain.bytes - done), done);
        if (bytesRead === 0) throw changedWhilePacked(plainPath, plain.bytes);
        const piece = buffer.subarray(0, bytesRead);
        await keystream?.apply(piece, done);
        await sink.write(piece);
        done += bytesRead;
      }
      await sink.end();
      if ((await input.stat()).size !== plain.bytes) throw changedWhilePacked(plainPath, plain.bytes);
    } finally {
      await input.close();
    }
    await output.publish(sink.bytes());
    return { name, encName, bytes: plain.bytes, sha256, md5: plain.md5!, encMd5: encHasher.digest().md5! };
  } catch (error) {
    await output.discard();
    throw error;
  }
}

/** Where XORed bytes go: straight after the header, or through gzip (xor_codec --compress, spec §2). */
function payloadSink(pipeline: PipelineDefinition, output: TempOutput, headerBytes: number, hasher: MultiHasher) {
  let position = headerBytes;
  const put = (bytes: Uint8Array) => {
    hasher.update(bytes);
    const at = position;
    position += bytes.length;
    return output.write(bytes, at);
  };
  const bytes = () => position;
  if (pipeline.payload !== "gzip") return { write: put, end: async () => {}, bytes };
  const gzip = createGzip();
  const writes: Promise<void>[] = [];
  gzip.on("data", (chunk: Buffer) => writes.push(put(chunk)));
  const ended = once(gzip, "end");
  return {
    write: async (bytes: Uint8Array) => {
      // The buffer is reused for the next read; gzip may hold on to what it is given.
      if (!gzip.write(Buffer.from(bytes))) await once(gzip, "drain");
    },
    end: async () => {
      gzip.end();
      await ended;
      await Promise.all(writes);
    },
    bytes,
  };
}

/**
 * pack's temporary names: hidden, so no output of pack (its files are never hidden) can have one,
 * unique to the run, and of a fixed length, so a long output name never makes one too long.
 */
function packTempPath(outDir: string): string {
  return join(outDir, `.model-recover-pack.${process.pid}.${randomBytes(8).toString("hex")}.tmp`);
}

/** Copy a file that travels in clear to `target` as a new file (never through a link there), with its md5. */
export async function copyFresh(source: string, target: string): Promise<{ md5: string; bytes: number }> {
  const { handle } = await openRegularFile(source, "model file");
  await handle.close();
  const temp = packTempPath(dirname(target));
  try {
    await copyFile(source, temp, constants.COPYFILE_EXCL);
    const { md5, bytes } = await hashFile(temp, ["md5"]);
    await rename(temp, target);
    return { md5: md5!, bytes };
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function changedWhilePacked(path: string, hashedBytes: number): InputError {
  return new InputError("MODEL_CHANGED", `${path}: changed size while being packed (it had ${hashedBytes} bytes when it was hashed); wait until nothing writes to the model folder and pack again`);
}
