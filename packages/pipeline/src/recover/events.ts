import type { VerifiedFile } from "./verify.js";

/** What a recovery reports as it goes. Libraries emit these; only the CLI draws them. */
export type RecoverEvent =
  | { type: "planned"; files: { name: string; bytes: number; reused: boolean }[]; totalBytes: number; extras: string[]; absentClearFiles: string[] }
  | { type: "key-checked"; base: string; probe: string }
  | { type: "unverified-removed"; name: string }
  | { type: "restored"; name: string }
  | { type: "room-checked"; neededBytes: number; freeBytes: number }
  | { type: "file-started"; name: string; bytes: number; resumedFrom: number }
  | { type: "file-progress"; name: string; bytesDone: number; bytes: number }
  | { type: "file-verified"; file: VerifiedFile }
  | { type: "file-failed"; name: string; message: string }
  /** A download from the Hub was cut (or answered 5xx) and goes on after `delayMs` from `position`. */
  | { type: "download-retry"; name: string; attempt: number; retries: number; position: number; reason: string; delayMs: number };

export type FileStatus =
  | { status: "verified"; file: VerifiedFile; reused: boolean; restored?: boolean }
  | { status: "failed"; name: string; bytes: number; message: string; code: string };

export interface RecoverSummary {
  recipe: string;
  outDir: string;
  files: FileStatus[];
  /** Files in the release folder that are not part of the release. */
  extras: string[];
  absentClearFiles: string[];
  folderProblems: string[];
  verify: "full" | "sha256";
  ok: boolean;
  seconds: number;
}
