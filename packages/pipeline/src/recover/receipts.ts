import { lstat, mkdir, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { writeFresh } from "./output-folder.js";

/** What was verified about one output file, and the stat that says it has not changed since. */
export interface Receipt {
  name: string;
  size: number;
  mtimeMs: number;
  ino: number;
  /** Absent when the file was verified by its header alone (`--verify sha256`). */
  md5?: string;
  sha256: string;
}

const RECEIPT_DIR = ".model-recover";
const RECEIPT_FILE = "receipts.json";

/**
 * Receipts let a re-run skip outputs that already verified without re-hashing gigabytes: like git's
 * index, a file whose size, mtime and inode are unchanged keeps the digests it was verified with.
 */
export class ReceiptBook {
  private saving = Promise.resolve();

  private constructor(
    private readonly outDir: string,
    private readonly receipts: Map<string, Receipt>,
  ) {}

  static async open(outDir: string): Promise<ReceiptBook> {
    const text = await readFile(join(outDir, RECEIPT_DIR, RECEIPT_FILE), "utf8").catch(() => "[]");
    let list: Receipt[] = [];
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) list = parsed.filter(isReceipt);
    } catch {
      // A damaged receipt file only costs a re-verification.
    }
    return new ReceiptBook(outDir, new Map(list.map((r) => [r.name, r])));
  }

  /** The receipt for `name` if the file on disk is still the one it describes. */
  async current(name: string): Promise<Receipt | undefined> {
    const receipt = this.receipts.get(name);
    if (!receipt) return undefined;
    const info = await lstat(join(this.outDir, name)).catch(() => undefined);
    if (!info?.isFile() || info.size !== receipt.size || info.mtimeMs !== receipt.mtimeMs || info.ino !== receipt.ino) return undefined;
    return receipt;
  }

  async record(name: string, digests: { md5?: string; sha256?: string }): Promise<Receipt> {
    const info = await lstat(join(this.outDir, name));
    const receipt: Receipt = { name, size: info.size, mtimeMs: info.mtimeMs, ino: info.ino, sha256: digests.sha256 ?? "", ...(digests.md5 ? { md5: digests.md5 } : {}) };
    this.receipts.set(name, receipt);
    // Files finish concurrently; one save at a time, each writing everything recorded so far.
    this.saving = this.saving.then(() => this.save());
    await this.saving;
    return receipt;
  }

  private async save(): Promise<void> {
    const dir = join(this.outDir, RECEIPT_DIR);
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `${RECEIPT_FILE}.${process.pid}.tmp`);
    await writeFresh(temp, JSON.stringify([...this.receipts.values()], null, 2) + "\n");
    await rename(temp, join(dir, RECEIPT_FILE));
  }
}

function isReceipt(value: unknown): value is Receipt {
  const r = value as Receipt;
  return typeof r?.name === "string" && typeof r.size === "number" && typeof r.mtimeMs === "number" && typeof r.ino === "number" && (r.md5 === undefined || typeof r.md5 === "string") && typeof r.sha256 === "string";
}
