import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { checkPlainFileName } from "@model-recover/hf-layout";
import { type FileIdentity, identityOf, isFileIdentity, readSmallFile, sameIdentity, writeFresh } from "@model-recover/safe-fs";
import { STATE_DIR } from "./output-folder.js";

/** What was verified about one output file, and the identity that says it has not changed since. */
export interface Receipt {
  name: string;
  identity: FileIdentity;
  /** Absent when the file was verified by its header alone (`--verify sha256`). */
  md5?: string;
  sha256: string;
  /** A converted output (--to safetensors): the recovered file it was made from, as that verified. */
  from?: DerivedFrom;
}

export interface DerivedFrom {
  name: string;
  md5?: string;
  sha256?: string;
}

const RECEIPT_FILE = "receipts.json";
/** 10,000 receipts with 255-byte names take about 5 MB. */
const MAX_RECEIPTS_BYTES = 32 * 1024 * 1024;
/** How often receipts are saved while files are recorded. */
const SAVE_EVERY_MS = 1000;

/**
 * Receipts let a re-run skip outputs that already verified without re-hashing gigabytes: like git's
 * index, a file whose device, inode, size, mtime and ctime are unchanged keeps the digests it was
 * verified with. Anything read back is checked as untrusted input: a receipt whose name is not a
 * plain file name, or whose fields are not what this code writes, is ignored.
 */
export class ReceiptBook {
  /** Saves, one after another; the first that failed is reported by `flush`. */
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown;
  private timer: NodeJS.Timeout | undefined;
  private lastSaved = 0;

  private constructor(
    private readonly outDir: string,
    private readonly receipts: Map<string, Receipt>,
  ) {}

  static async open(outDir: string): Promise<ReceiptBook> {
    // Only ever a regular file of a sane size: a FIFO or a huge file planted there costs a re-verification, not a hang.
    const text = await readSmallFile(join(outDir, STATE_DIR, RECEIPT_FILE), MAX_RECEIPTS_BYTES, "receipt file").catch(() => "[]");
    let list: Receipt[] = [];
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) list = parsed.filter(isReceipt);
    } catch {
      // A damaged receipt file only costs a re-verification.
    }
    return new ReceiptBook(outDir, new Map(list.map((r) => [r.name, r])));
  }

  /** The receipt for `name` if the file on disk is still, to the inode and ctime, the one it describes. */
  async current(name: string): Promise<Receipt | undefined> {
    const receipt = this.receipts.get(name);
    if (!receipt) return undefined;
    const info = await lstat(join(this.outDir, name)).catch(() => undefined);
    return info?.isFile() && sameIdentity(identityOf(info), receipt.identity) ? receipt : undefined;
  }

  /** Record what `name` verified as, with the identity it has now (taken after any chmod or link). */
  async record(name: string, digests: { md5?: string; sha256?: string }, from?: DerivedFrom): Promise<Receipt> {
    const info = await lstat(join(this.outDir, name));
    const receipt: Receipt = { name, identity: identityOf(info), sha256: digests.sha256 ?? "", ...(digests.md5 ? { md5: digests.md5 } : {}), ...(from ? { from } : {}) };
    this.receipts.set(name, receipt);
    this.timer ??= setTimeout(() => void this.save(), Math.max(0, this.lastSaved + SAVE_EVERY_MS - Date.now()));
    return receipt;
  }

  /** Write everything recorded now, and wait for it; throws what a save met (a full disk). */
  async flush(): Promise<void> {
    await (this.timer ? this.save() : this.writing);
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * A save rewrites every receipt, so it happens at most once a second however fast files are
   * recorded (10,000 small outputs adopted one by one would otherwise mean 10,000 rewrites of the
   * whole list, quadratic), and once more at `flush`. A receipt lost to a crash costs a re-hash.
   */
  private save(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastSaved = Date.now();
    const text = `${JSON.stringify([...this.receipts.values()], null, 1)}\n`;
    this.writing = this.writing
      .then(() => writeFresh(join(this.outDir, STATE_DIR, RECEIPT_FILE), text))
      .catch((error: unknown) => {
        this.failure ??= error;
      });
    return this.writing;
  }
}

function isReceipt(value: unknown): value is Receipt {
  const r = value as Receipt;
  const digestsOk = (d: { md5?: string; sha256?: string }) => (d.md5 === undefined || /^[0-9a-f]{32}$/.test(d.md5)) && (d.sha256 === undefined || /^([0-9a-f]{64})?$/.test(d.sha256));
  const fromOk = r?.from === undefined || (typeof r.from?.name === "string" && checkPlainFileName(r.from.name).ok && digestsOk(r.from));
  return typeof r?.name === "string" && checkPlainFileName(r.name).ok && isFileIdentity(r.identity) && typeof r.sha256 === "string" && digestsOk(r) && fromOk;
}
