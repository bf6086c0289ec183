import { TorchFormatError } from "../errors.js";
import { PICKLE_MAX_BYTES, SMALL_RECORD_MAX_BYTES } from "../pickle/limits.js";
import { type PlanOptions, planSafetensors, type SafetensorsPlan } from "../safetensors/plan.js";
import { checkByteOrder } from "../torch/byte-order.js";
import { readStateDict, type StateDict } from "../torch/state-dict.js";
import { archiveOf, classifyRecord, type RecordKind } from "../zip/record-names.js";
import { conversionOf, type Placement, placementsByStorage, type SafetensorsConversion } from "./conversion.js";
import { type RecordHandler, type RecordTake, ZipStream } from "./zip-stream.js";

export interface TorchToSafetensorsStreamOptions extends PlanOptions {
  /**
   * Writes output bytes at a position of the safetensors file: first the header at 0, then each
   * storage's bytes where its tensors go (random positions). `bytes` may be a view of a pushed chunk:
   * use or copy it before the promise resolves.
   */
  write: (bytes: Uint8Array, position: number) => Promise<void>;
  /** The .bin's name, for messages. */
  source?: string;
}

/**
 * Converts a torch.save checkpoint to safetensors while its bytes stream past, front to back, in
 * chunks of any size, with memory flat whatever the size: data.pkl comes first in every torch.save
 * file (checked with torch 1.13.1; serialization.py `_save` writes it before the storages), so the
 * whole output is planned and its header written before the first weight arrives; each storage
 * record's bytes are then written straight to where its tensors go. A storage record arriving before
 * data.pkl could only be placed by holding or spilling it, so it is refused (STREAM_ORDER); small
 * records (version, byteorder) are read in memory. Nothing of the .bin is ever written.
 */
export class TorchToSafetensorsStream {
  private readonly zip: ZipStream;
  private readonly file: string;
  private archive: string | undefined;
  private current: RecordKind = { kind: "other" };
  private plan: SafetensorsPlan | undefined;
  private stateDict: StateDict | undefined;
  private placements = new Map<string, Placement[]>();
  private readonly received = new Map<string, number>();
  private failure: unknown;

  constructor(private readonly options: TorchToSafetensorsStreamOptions) {
    this.file = options.source ?? "the checkpoint stream";
    this.zip = new ZipStream(this.handler(), this.file);
  }

  /** The next bytes of the .bin, in order. The chunk may be reused once the promise resolves. */
  async push(chunk: Uint8Array): Promise<void> {
    await this.guard(() => this.zip.push(chunk));
  }

  /** After the last chunk: checks that the zip ended and that every storage arrived. */
  async end(): Promise<SafetensorsConversion> {
    await this.guard(() => this.zip.end());
    if (!this.plan || !this.stateDict) throw this.fail("RECORD_MISSING", "the zip ended without data.pkl; not a torch.save checkpoint");
    for (const [key, bytes] of this.stateDict.storageBytes) {
      if (this.received.get(key) !== bytes) throw this.fail("RECORD_MISSING", `data.pkl names storage ${JSON.stringify(key)}, but the zip has no record ${this.archive}/data/${key}`);
    }
    return conversionOf(this.plan);
  }

  private async guard(run: () => Promise<void>): Promise<void> {
    if (this.failure) throw this.failure;
    try {
      await run();
    } catch (error) {
      this.failure = error;
      throw error;
    }
  }

  private fail(code: "RECORD_MISSING" | "STREAM_ORDER" | "SIZE_MISMATCH" | "ZIP_INVALID", problem: string): TorchFormatError {
    this.failure = new TorchFormatError(code, this.file, problem);
    return this.failure as TorchFormatError;
  }

  private handler(): RecordHandler {
    return {
      begin: (name, headerSize) => this.begin(name, headerSize),
      data: (bytes) => this.storageData(bytes),
      end: (collected) => this.recordEnd(collected),
    };
  }

  private begin(name: string, headerSize: number | undefined): RecordTake {
    this.archive ??= archiveOf(name, this.file);
    this.current = classifyRecord(name, this.archive, this.file);
    if (this.current.kind === "pickle") {
      if (this.plan) throw this.fail("ZIP_INVALID", `a second ${name}`);
      return { collect: PICKLE_MAX_BYTES };
    }
    if (this.current.kind !== "storage") return { collect: SMALL_RECORD_MAX_BYTES };
    const key = this.current.key;
    if (!this.stateDict) {
      throw this.fail("STREAM_ORDER", `${name} arrives before data.pkl, so its tensors are not yet known; torch.save writes data.pkl first. Convert the .bin file with convertTorchFileToSafetensors instead`);
    }
    const expected = this.stateDict.storageBytes.get(key);
    // A record data.pkl never names is never read (file mode skips it too); torch.save writes none.
    if (expected === undefined) return { collect: SMALL_RECORD_MAX_BYTES };
    if (headerSize !== undefined && headerSize !== expected) {
      throw this.fail("SIZE_MISMATCH", `${name} holds ${headerSize} bytes, but data.pkl declares a storage of ${expected} bytes`);
    }
    this.received.set(key, 0);
    return { pass: expected };
  }

  /** A storage's next bytes, written to every kept tensor that views them. */
  private async storageData(bytes: Uint8Array): Promise<void> {
    if (this.current.kind !== "storage") return;
    const key = this.current.key;
    const from = this.received.get(key)!;
    const to = from + bytes.length;
    this.received.set(key, to);
    for (const placement of this.placements.get(key) ?? []) {
      const start = Math.max(from, placement.start);
      const end = Math.min(to, placement.end);
      if (start < end) await this.options.write(bytes.subarray(start - from, end - from), placement.output + (start - placement.start));
    }
  }

  private async recordEnd(collected: Uint8Array | undefined): Promise<void> {
    if (this.current.kind === "byteorder") checkByteOrder(collected!, this.file, `${this.archive}/byteorder`);
    if (this.current.kind !== "pickle") return;
    this.stateDict = readStateDict(collected!, this.file, this.archive!);
    this.plan = planSafetensors(this.stateDict, this.file, this.options);
    this.placements = placementsByStorage(this.plan, this.file);
    await this.options.write(this.plan.header, 0);
  }
}
