// node --conditions=source --import tsx scripts/bench/hub-serve.ts <folder> <repo>
// The test Hub of @model-recover/hf-hub serving <folder> as <repo>, in its own process so that the
// benchmark's client has a core to itself; prints the endpoint, then serves until stdin closes.
import { startHubServer } from "@model-recover/hf-hub/test-server";

const [folder, repo] = process.argv.slice(2) as [string, string];
const server = await startHubServer({ repos: { [repo]: { dir: folder } } });
process.stdout.write(`${server.endpoint}\n`);
process.stdin.resume();
process.stdin.on("end", () => void server.close().then(() => process.exit(0)));
