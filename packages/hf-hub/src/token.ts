import { readFile } from "node:fs/promises";
import { HubError } from "./errors.js";

export interface TokenSources {
  /** `--token-file`: read first, and an error if it cannot be read or is empty. */
  tokenFile?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * The token for gated repos: the token file when one is named, else HF_TOKEN, else none. As in
 * huggingface_hub (`_clean_token`), line breaks and surrounding blanks are dropped. The token is
 * never part of a message, including the ones this function throws.
 */
export async function readHubToken(sources: TokenSources = {}): Promise<string | undefined> {
  const { tokenFile, env = process.env } = sources;
  if (tokenFile !== undefined) {
    let text: string;
    try {
      text = await readFile(tokenFile, "utf8");
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? "unreadable";
      throw new HubError("HUB_TOKEN", `token file ${tokenFile}: cannot be read (${reason}); name a file holding a Hugging Face token`);
    }
    const token = cleanToken(text);
    if (token === undefined) throw new HubError("HUB_TOKEN", `token file ${tokenFile}: holds no token (the file is empty)`);
    return checkToken(token, `token file ${tokenFile}`);
  }
  const fromEnv = cleanToken(env.HF_TOKEN ?? "");
  return fromEnv === undefined ? undefined : checkToken(fromEnv, "HF_TOKEN");
}

function cleanToken(text: string): string | undefined {
  const token = text.replace(/[\r\n]/g, "").trim();
  return token === "" ? undefined : token;
}

/** A header value must be visible ASCII; anything else would be refused by fetch with the token in the message. */
export function checkToken(token: string, source: string): string {
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new HubError("HUB_TOKEN", `${source} holds spaces or characters outside visible ASCII; it cannot be sent in a header`);
  }
  return token;
}
