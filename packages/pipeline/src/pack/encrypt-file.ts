import { open } from "node:fs/promises";
import { hashFile, MultiHasher } from "@model-recover/md5-manifest";
import { encFileName } from "@model-recover/hf-layout";
import { ENC_HEADER_BYTES, KEY_CHUNK_BYTES, Keystream, type KeyFile } from "@model-recover/xor-core";
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
 * Write `<name>.<sha256>.enc` (spec §1): the plaintext's sha256 as a 32-byte header, then the payload
 * XORed with the keystream. The header comes first but needs the whole plaintext, so the plaintext is
 * read twice: once to hash it, once to encrypt it (hashing the `.enc` on the way for the card).
 */
export async function encryptFile(plainPath: string, name: string, key: KeyFile, outDir: string): Promise<EncryptedFile> {
  const plain = await hashFile(plainPath, ["sha256", "md5"]);
  const sha256 = plain.sha256!;
  const encName = encFileName(name, sha256);
  const output = await TempOutput.create(outDir, encName);
  try {
    const header = Buffer.from(sha256, "hex");
    const encHasher = new MultiHasher(["md5"]);
    encHasher.update(header);
    await output.write(header, 0);
    const keystream = new Keystream(key);
    const buffer = new Uint8Array(KEY_CHUNK_BYTES);
    const input = await open(plainPath, "r");
    try {
      for (let done = 0; done < plain.bytes; ) {
        const { bytesRead } = await input.read(buffer, 0, Math.min(buffer.length, plain.bytes - done), done);
        if (bytesRead === 0) throw new Error(`${plainPath}: shrank while being encrypted`);
        const piece = buffer.subarray(0, bytesRead);
        await keystream.apply(piece, done);
        encHasher.update(piece);
        await output.write(piece, ENC_HEADER_BYTES + done);
        done += bytesRead;
      }
    } finally {
      await input.close();
    }
    await output.publish();
    return { name, encName, bytes: plain.bytes, sha256, md5: plain.md5!, encMd5: encHasher.digest().md5! };
  } catch (error) {
    await output.discard();
    throw error;
  }
}
