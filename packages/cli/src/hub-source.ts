import { resolve } from "node:path";
import { HubClient } from "@model-recover/hf-hub";
import { checkBaseForRelease, downloadRelease, type HubLocation, type LoadedRecipe, openHubRelease, printable, type RecoverEvent, refuseOverlaps, type RemoteRelease, UsageError } from "@model-recover/pipeline";
import type { CommandContext } from "./context.js";
import { createDownloadProgress } from "./download-progress.js";
import type { OptionSpec } from "./options.js";

/** The flags of `recover` that take the release from the Hub, declared with the command's others. */
export const hubOptions: Record<string, OptionSpec> = {
  "from-hub": { type: "boolean", description: "stream the release from the Hugging Face Hub (the recipe's hub repo) through the recovery instead of reading --enc: each file is verified on the way (size, LFS sha256, then header and card) and never stored; HF_ENDPOINT picks a mirror" },
  revision: { type: "string", value: "<sha>", description: "with --from-hub (or download), the commit to read (default: the recipe's revision, else main)" },
  "token-file": { type: "string", value: "<file>", description: "with --from-hub (or download), a file holding the Hugging Face token for a gated repo (default: HF_TOKEN); sent to the Hub's host only" },
  "keep-enc": { type: "string", value: "<folder>", description: "with --from-hub, also keep the verified encrypted files in this folder (downloaded there first, resumable, then recovered from it)" },
};

export interface HubFlags {
  "from-hub"?: boolean;
  revision?: string;
  "token-file"?: string;
  "keep-enc"?: string;
  enc?: string;
}

/** What --from-hub turns into: a release streamed from the Hub, or with --keep-enc a folder downloaded first. */
export type HubSource = { kind: "stream"; remote: RemoteRelease } | { kind: "kept"; encDir: string };

/** Where the recipe's release is on the Hub, with --revision over the recipe's pinned commit. */
export function hubLocation(loaded: LoadedRecipe, revision: string | undefined): HubLocation {
  const hub = loaded.recipe.hub;
  if (!hub) {
    throw new UsageError(`${printable(loaded.recipe.name)} names no Hugging Face repo ("hub" in ${printable(loaded.file)}); add one (model-recover recipe from-folder --hub <owner/name>) or download the release and pass --enc`);
  }
  if (revision !== undefined && !/^[0-9a-f]{40}$/.test(revision)) throw new UsageError(`--revision ${printable(revision)}: expected a commit sha (40 hex digits); a branch could move under a resumed run`);
  const pinned = revision ?? hub.revision;
  return { repo: hub.repo, ...(pinned ? { revision: pinned } : {}), ...(hub.folder ? { folder: hub.folder } : {}) };
}

/** `owner/name` or `owner/name@<commit sha>` (recipe from-folder --hub); the repo's form is the schema's to check. */
export function parseHubRef(text: string): { repo: string; revision?: string } {
  const [repo = "", revision, ...rest] = text.split("@");
  if (rest.length > 0 || (revision !== undefined && !/^[0-9a-f]{40}$/.test(revision))) {
    throw new UsageError(`--hub ${printable(text)}: expected <owner/name> or <owner/name>@<commit sha, 40 hex digits>`);
  }
  return { repo, ...(revision ? { revision } : {}) };
}

/**
 * The flags that only mean something with --from-hub, refused without it; --enc is refused with it,
 * and so is a recipe that names no repo (before anything is printed or fetched).
 */
export function checkHubFlags(loaded: LoadedRecipe, flags: HubFlags): boolean {
  if (!flags["from-hub"]) {
    const stray = (["revision", "token-file", "keep-enc"] as const).find((name) => flags[name] !== undefined);
    if (stray) throw new UsageError(`--${stray} goes with --from-hub`);
    return false;
  }
  if (flags.enc !== undefined) throw new UsageError("--from-hub reads the release from the Hub; leave out --enc (or leave out --from-hub to read a downloaded folder)");
  hubLocation(loaded, flags.revision);
  return true;
}

/** HF_ENDPOINT and the token (the --token-file, else HF_TOKEN), as huggingface_hub takes them. */
export function hubClient(flags: HubFlags, context: CommandContext): Promise<HubClient> {
  const tokenFile = flags["token-file"] === undefined ? undefined : resolve(context.cwd, flags["token-file"]);
  return HubClient.fromEnvironment({ env: context.env, ...(tokenFile ? { tokenFile } : {}) });
}

/**
 * --from-hub: list the release on the Hub (a gated repo without a token fails here, before any
 * work), and either stream it, or with --keep-enc check the base, then download the release verified
 * into that folder.
 */
export async function hubSource(loaded: LoadedRecipe, flags: HubFlags, context: CommandContext, progress: (event: RecoverEvent) => void, paths: { base: string; out: string }): Promise<HubSource> {
  const basePath = paths.base;
  const location = hubLocation(loaded, flags.revision);
  const hub = await hubClient(flags, context);
  // A download first (--keep-enc) is drawn as one; a streamed release's retries go to the recovery's lines.
  const draw = flags["keep-enc"] === undefined ? undefined : createDownloadProgress(context.stderr);
  const release = await openHubRelease(hub, location, {
    ...(context.signal ? { signal: context.signal } : {}),
    onRetry: (name, e) => (draw ?? progress)({ type: "download-retry", name, attempt: e.attempt, retries: e.retries, position: e.position, reason: e.reason, delayMs: e.delayMs }),
  });
  context.stderr.write(`  from: ${printable(`${hub.endpoint.origin}/${release.where}`)}${hub.hasToken ? " (with a token)" : ""}\n`);
  if (flags["keep-enc"] === undefined || !draw) return { kind: "stream", remote: release };
  const encDir = resolve(context.cwd, flags["keep-enc"]);
  // The download writes into --keep-enc: it must not be, hold or lie in the base or the output.
  await refuseOverlaps(encDir, [{ path: basePath, what: "base (--base)" }, { path: paths.out, what: "output folder (--out)" }], "release folder (--keep-enc)");
  // The base is checked before the download, as a streamed run checks it before the XOR.
  const probe = await checkBaseForRelease(loaded, release, basePath);
  if (probe) context.stderr.write(`base ${printable(basePath)} is the right key (checked on ${printable(probe)})\n`);
  await downloadRelease({ loaded, release, toDir: encDir, onEvent: draw, ...(context.signal ? { signal: context.signal } : {}) });
  return { kind: "kept", encDir };
}
