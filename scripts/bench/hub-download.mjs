// node scripts/bench/hub-download.mjs <mode> <endpoint> <repo> <path> <local copy>
// One download, one way; prints {"bytes": n, "seconds": s} timed from the first request to the last
// byte (process start-up excluded). Plain JavaScript on the built package (dist), run without tsx:
// tsx turns source maps on, and with them (as with --enable-source-maps) undici's fetch was
// measured at a third of its speed here; the CLI runs from dist without them. Modes:
//   disk     read the local copy with 8 MiB reads (the local-folder path of the engine)
//   fetch    plain fetch of the CDN URL the endpoint redirects to, counting chunks (undici's ceiling here)
//   chunks   HubFileStream, for await over its chunks
//   read     HubFileStream.read into one 8 MiB buffer (one copy, as into the engine's shared memory)
//   verify   HubFileStream with verify: true (sha256 on this thread)
import { open } from "node:fs/promises";
import { HubClient } from "@model-recover/hf-hub";

const [mode, endpoint, repo, path, localCopy] = process.argv.slice(2);
const buffer = new Uint8Array(8 * 1024 * 1024);
const hub = new HubClient({ endpoint });

async function download() {
  let bytes = 0;
  if (mode === "disk") {
    const file = await open(localCopy, "r");
    for (let n = 1; n > 0; bytes += n) n = (await file.read(buffer, 0, buffer.length, bytes)).bytesRead;
    await file.close();
  } else if (mode === "fetch") {
    const redirect = await fetch(hub.fileUrl(repo, "main", path), { redirect: "manual" });
    for await (const chunk of (await fetch(redirect.headers.get("location"))).body) bytes += chunk.length;
  } else if (mode === "read") {
    const stream = hub.openFile(repo, "main", path);
    for (let n = buffer.length; n === buffer.length; bytes += n) n = await stream.read(buffer);
  } else {
    for await (const chunk of hub.openFile(repo, "main", path, { verify: mode === "verify" })) bytes += chunk.length;
  }
  return bytes;
}

const started = performance.now();
const bytes = await download();
process.stdout.write(JSON.stringify({ bytes, seconds: (performance.now() - started) / 1000 }));
