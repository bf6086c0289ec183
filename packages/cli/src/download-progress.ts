import { type DownloadEvent, printable, type RecoverEvent } from "@model-recover/pipeline";
import { createProgress } from "./progress.js";

type Stream = Parameters<typeof createProgress>[0];

/**
 * A download drawn like a recovery (a bar per file, rate and ETA overall, a line every few seconds
 * off a TTY): its events are the recovery's file events under other names.
 */
export function createDownloadProgress(stream: Stream): (event: DownloadEvent | RecoverEvent) => void {
  const draw = createProgress(stream, { work: "download" });
  return (event) => {
    switch (event.type) {
      case "download-planned":
        return draw({ type: "planned", files: event.files.map((f) => ({ name: f.name, bytes: f.bytes, reused: f.present })), totalBytes: event.totalBytes, extras: [], absentClearFiles: [] });
      case "download-started":
        if (event.resumedFrom > 0) stream.write(`continuing the download of ${printable(event.name)} from byte ${event.resumedFrom}\n`);
        return draw({ type: "file-started", name: event.name, bytes: event.bytes, resumedFrom: 0 });
      case "download-progress":
        return draw({ type: "file-progress", name: event.name, bytesDone: event.bytesDone, bytes: event.bytes });
      case "download-verified":
        return draw({ type: "file-verified", file: { name: event.name, bytes: event.bytes, checks: [] } });
      default:
        return draw(event);
    }
  };
}
