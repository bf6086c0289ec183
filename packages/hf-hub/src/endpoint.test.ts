import { describe, expect, it } from "vitest";
import { DEFAULT_ENDPOINT, hubEndpoint, mayCarryToken, parseEndpoint } from "./endpoint.js";
import { resolveUrl } from "./names.js";

describe("hubEndpoint", () => {
  it("is HF_ENDPOINT when set, as in huggingface_hub, else https://huggingface.co", () => {
    expect(hubEndpoint({ HF_ENDPOINT: "https://hf-mirror.com" }).href).toBe("https://hf-mirror.com/");
    expect(hubEndpoint({ HF_ENDPOINT: "  " }).href).toBe(`${DEFAULT_ENDPOINT}/`);
    expect(hubEndpoint({}).href).toBe(`${DEFAULT_ENDPOINT}/`);
  });

  it("refuses what is not a plain http(s) origin, naming HF_ENDPOINT (HUB_ENDPOINT)", () => {
    expect(() => hubEndpoint({ HF_ENDPOINT: "hf-mirror.com" })).toThrow('HF_ENDPOINT "hf-mirror.com" is not a URL; expected e.g. https://huggingface.co');
    expect(() => hubEndpoint({ HF_ENDPOINT: "ftp://mirror.example" })).toThrow("HF_ENDPOINT ftp://mirror.example/: expected an http:// or https:// URL such as https://huggingface.co, found ftp:");
    expect(() => parseEndpoint("https://user:pw@mirror.example")).toThrow("endpoint https://***@mirror.example/ must be a plain origin such as https://huggingface.co: no user, password, query or fragment");
    expect(() => parseEndpoint("https://mirror.example/?token=x")).toThrow(expect.objectContaining({ code: "HUB_ENDPOINT" }));
    // A token pasted as the endpoint is never printed (it is not a URL, or it is one of an odd scheme).
    for (const pasted of ["hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "Bearer hf_Secret123", "javascript:hf_Secret", "AbCdEfGhIjKlMnOpQrStUvWxYz"]) {
      const error = (() => { try { hubEndpoint({ HF_ENDPOINT: pasted }); } catch (e) { return e as Error; } })();
      expect(error).toMatchObject({ code: "HUB_ENDPOINT" });
      expect(error?.message).toContain("***");
      expect(error?.message).not.toMatch(/Secret|AbCdEf/);
    }
  });
});

describe("an endpoint refused shows no secret it holds (issue 10)", () => {
  const cases: [string, string][] = [
    ["file:///home/me/hub", 'HF_ENDPOINT file:///home/me/hub: expected an http:// or https:// URL such as https://huggingface.co, found file:'],
    ["foo://bob:hunter2@mirror.example/x", "HF_ENDPOINT foo://***@mirror.example/x: expected an http:// or https:// URL such as https://huggingface.co, found foo:"],
    ["https://bob:hunter2@mirror.example", "HF_ENDPOINT https://***@mirror.example/ must be a plain origin such as https://huggingface.co: no user, password, query or fragment"],
    ["https://bob:p/w@hunter2@mirror.example", 'HF_ENDPOINT "https://***@mirror.example" is not a URL; expected e.g. https://huggingface.co'],
    ["https://mirror.example/?token=hunter2", "HF_ENDPOINT https://mirror.example/?*** must be a plain origin such as https://huggingface.co: no user, password, query or fragment"],
    ["https://bob:hunter2@mir ror.example", 'HF_ENDPOINT "https://***@mir ror.example" is not a URL; expected e.g. https://huggingface.co'],
    [`hf_${"hunter2".repeat(20)}`, 'HF_ENDPOINT "***" is not a URL; expected e.g. https://huggingface.co'],
  ];
  for (const [endpoint, message] of cases) {
    it(`refuses ${endpoint.slice(0, 40)} in one line`, () => {
      const error = (() => {
        try {
          hubEndpoint({ HF_ENDPOINT: endpoint });
        } catch (e) {
          return e as Error;
        }
      })();
      expect(error).toMatchObject({ code: "HUB_ENDPOINT", message });
      expect(error?.message).not.toMatch(/hunter2@|\n|null/);
    });
  }
});

describe("resolveUrl", () => {
  it("builds {endpoint}/{repo}/resolve/{revision}/{path}, encoding the revision whole and the path by segment", () => {
    const endpoint = new URL("https://huggingface.co");
    expect(resolveUrl(endpoint, "BelleGroup/BELLE-LLaMA-13B-2M-enc", "main", "config.json.enc").href).toBe("https://huggingface.co/BelleGroup/BELLE-LLaMA-13B-2M-enc/resolve/main/config.json.enc");
    expect(resolveUrl(endpoint, "o/n", "refs/pr/1", "sub dir/a#b.bin").href).toBe("https://huggingface.co/o/n/resolve/refs%2Fpr%2F1/sub%20dir/a%23b.bin");
  });

  it("keeps a mirror's path prefix", () => {
    expect(resolveUrl(new URL("http://127.0.0.1:8080/huggingface/"), "o/n", "main", "x").href).toBe("http://127.0.0.1:8080/huggingface/o/n/resolve/main/x");
  });
});

describe("mayCarryToken: the endpoint's own origin, over HTTPS or to a loopback host", () => {
  const hub = new URL("https://huggingface.co");
  const cases: [string, URL, boolean][] = [
    ["https://huggingface.co/o/n/resolve/main/x", hub, true],
    ["https://cdn-lfs.huggingface.co/repos/ab/cd", hub, false],
    ["https://huggingface.co:8443/o/n", hub, false],
    ["http://huggingface.co/o/n", hub, false],
    ["http://127.0.0.1:9000/o/n", new URL("http://127.0.0.1:9000"), true],
    ["http://[::1]:9000/o/n", new URL("http://[::1]:9000"), true],
    ["http://localhost:9000/o/n", new URL("http://localhost:9000"), true],
    ["http://127.0.0.1:9001/o/n", new URL("http://127.0.0.1:9000"), false],
    ["http://hf-mirror.example/o/n", new URL("http://hf-mirror.example"), false],
    ["https://hf-mirror.example/o/n", new URL("https://hf-mirror.example"), true],
  ];
  for (const [url, endpoint, expected] of cases) {
    it(`${expected ? "sends" : "withholds"} it for ${url} (endpoint ${endpoint.origin})`, () => {
      expect(mayCarryToken(new URL(url), endpoint)).toBe(expected);
    });
  }
});
