import { TorchToSafetensorsStream, type SafetensorsConversion } from "@model-recover/torch-format";
import type { FileIdentity } from "@model-recover/safe-fs";
import { DirectStager } from "./direct-stager.js";
import { TempOutput } from "./temp-output.js";

/**
 * `--to safetensors`: a recovered `.bin` shard converted in the same pass. The decrypted bytes are
 * pushed, in order, through torch-format's streaming converter, which writes the safetensors file at
 * positions of its own (the header first, then each storage where its tensors go); the `.bin` itself
 * is hashed as usual (header sha256, card md5) and published only with --keep-bin. A resumed file is
 * pushed again from its first byte, since the converter needs the whole stream (the pickle comes
 * first), but what a killed run already made durable below the resume point is not written again.
 */
export class ConvertedOutput {
  private chain: Promise<void> = Promise.resolve();
  private skipping = false;
  private conversion?: SafetensorsConversion;

  private constructor(
    private readonly temp: TempOutput,
    private readonly stager: DirectStager,
    private readonly stream: TorchToSafetensorsStream,
    private readonly resumeFrom: number,
  ) {}

  static async create(path: string, finalPath: string, binName: string, resumeFrom: number): Promise<ConvertedOutput> {
    const temp = await TempOutput.create(path, finalPath, { direct: true, resumeFrom, keepLength: true });
    const stager = new DirectStager((bytes, position) => temp.write(bytes, position));
    let output: ConvertedOutput | undefined;
    const stream = new TorchToSafetensorsStream({ source: binName, write: (bytes, position) => (output!.skipping ? Promise.resolve() : stager.push(bytes, position)) });
    output = new ConvertedOutput(temp, stager, stream, resumeFrom);
    return output;
  }

  get path(): string {
    return this.temp.path;
  }

  /** The `.bin` bytes at `position` (pushes are applied one after another, in the order given). */
  write(bytes: Uint8Array, position: number): Promise<void> {
    const skip = position + bytes.length <= this.resumeFrom;
    this.chain = this.chain.then(() => {
      this.skipping = skip;
      return this.stream.push(bytes);
    });
    return this.chain;
  }

  async sync(): Promise<void> {
    await this.chain;
    await this.stager.flush();
    await this.temp.sync();
  }

  /** After the last byte: the converter checks the zip ended and every storage arrived. */
  async end(): Promise<SafetensorsConversion> {
    await this.chain;
    this.conversion = await this.stream.end();
    await this.stager.flush();
    return this.conversion;
  }

  async publish(): Promise<FileIdentity> {
    return this.temp.publish(this.conversion!.bytesWritten);
  }

  async suspend(): Promise<void> {
    await this.chain.catch(() => undefined);
    // What is staged is what the stream made; the resume point is the last sync's, so a failed flush loses nothing.
    await this.stager.flush().catch(() => undefined);
    await this.temp.suspend();
  }

  async discard(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.temp.discard();
  }
}
