#!/usr/bin/env python3
"""Golden vectors for spec §2 (OpenAssistant xor_codec) and §3 (OpenBuddy 16 MiB key prefix).

Independent reading of /work/shared/spec/xor-release-format.md §2/§3, checked against the published scripts (read
only; nothing copied or run): LAION-AI/Open-Assistant scripts/xor-codec/xor_codec.py, OpenBuddy/OpenBuddy decrypt.py.
Standard library only. Usage: python3 scripts/vectors/make_xor_codec_vectors.py [--skip-self-check]
Writes fixtures/vectors/xor-codec.json and xor-prefix.json; re-running gives byte-identical JSON (gzip: mtime 0).
The self-check regenerates xor-release.json's first plaintext (seed 2, 62,914,567 bytes) and compares its hashes.
"""
import base64, gzip, hashlib, io, json, platform, sys, zlib
from array import array
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "fixtures" / "vectors"
M32 = 0xFFFFFFFF
OA_BLOCK = 4096                  # xor_codec.py: block_size=4096 (default, used by xor_dir)
OB_PREFIX = 16 * 1024 * 1024     # decrypt.py: SEED_SIZE = 16*1024*1024
OA_SRC = ("LAION-AI/Open-Assistant scripts/xor-codec/xor_codec.py (stored commit "
          "9a1e8d63be3adf1bdd9efe12bfe990cbb384d7d8; two later reformatted versions read too, same behaviour)")
OB_SRC = "OpenBuddy/OpenBuddy decrypt.py (stored commit 2e4b1b34b3d406db7502b1b6daf3cb1ce86b8b4a)"
GENERATOR = json.loads((OUT / "xor-release.json").read_text())["generator"]
_cache = {}


def xorshift32(seed, length):
    """Generator described in xor-release.json; streams of one seed are prefixes of each other."""
    if seed in _cache and len(_cache[seed]) >= length:
        return _cache[seed][:length]
    words, x = array("I"), seed & M32
    for _ in range((length + 3) // 4):
        x ^= (x << 13) & M32; x ^= x >> 17; x ^= (x << 5) & M32
        words.append(x)
    if sys.byteorder != "little": words.byteswap()
    _cache[seed] = words.tobytes()[:length]
    return _cache[seed]


# Byte-wise XOR of equal-length strings; length+sha256+md5 of some bytes; a seeded input with its hashes.
def xor(a, b): return (int.from_bytes(a, "little") ^ int.from_bytes(b, "little")).to_bytes(len(a), "little")
def h(d): return {"length": len(d), "sha256": hashlib.sha256(d).hexdigest(), "md5": hashlib.md5(d).hexdigest()}
def seeded(seed, n): return {"generator": "xorshift32", "seed": seed, "length": n, **h(xorshift32(seed, n))}


def oa_xor(payload, base):
    """§2 closed form: key = base cut to len(payload), zero-padded when shorter."""
    return xor(payload, base[:len(payload)] + bytes(max(0, len(payload) - len(base))))


def oa_xor_blocks(payload, base):
    """Same thing done the way the published loop walks the files (4096-byte reads of both)."""
    out, off = [], 0
    while True:
        p, b = payload[off:off + OA_BLOCK], base[off:off + OA_BLOCK]
        out.append(xor(p, (b + bytes(OA_BLOCK))[:len(p)]))
        off += OA_BLOCK
        if len(p) < OA_BLOCK:
            return b"".join(out)


def gz(data, name):
    """Gzip as gzip.open(dst, 'wb') would (level 9, FNAME = basename) but with mtime pinned to 0."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", compresslevel=9, fileobj=buf, mtime=0) as f:
        for i in range(0, len(data), OA_BLOCK):
            f.write(data[i:i + OA_BLOCK])
    return buf.getvalue()


# name, fileName, base (seed, length) or None (absent), payload (seed, length), mode
OA_CASES = [
    ("base-shorter-tail-passes", "pytorch_model-00007-of-00007.bin", (301, 1000000), (302, 1500007), "plain"),
    ("base-longer-truncated", "config.json", (303, 700001), (304, 123457), "plain"),
    ("base-same-length", "tokenizer.model", (305, 499723), (306, 499723), "plain"),
    ("empty-payload", "generation_config.json", (307, 137), (308, 0), "plain"),
    ("empty-base-file", "special_tokens_map.json", (309, 0), (310, 411), "plain"),
    ("absent-base-added-tokens-copied", "added_tokens.json", None, (312, 20), "plain"),
    ("absent-base-other-file-no-output", "README.md", None, (314, 1000), "plain"),
    ("block-exact-4096", "block-a.bin", (315, 4096), (316, 4096), "plain"),
    ("block-payload-4097-base-4095", "block-b.bin", (317, 4095), (318, 4097), "plain"),
    ("block-payload-8192-base-4097", "block-c.bin", (319, 4097), (320, 8192), "plain"),
    ("block-payload-4095-base-8193", "block-d.bin", (321, 8193), (322, 4095), "plain"),
    ("block-payload-12288-base-8192", "block-e.bin", (323, 8192), (324, 12288), "plain"),
    ("large-base-shorter", "pytorch_model-00001-of-00007.bin", (325, 30000001), (326, 33554433), "plain"),
    ("gzip-mode", "pytorch_model.bin.index.json", (327, 4100), (328, 5000), "gzip"),
]


def oa_case(name, file_name, base_spec, pay_spec, mode):
    plain = xorshift32(*pay_spec)
    case = {"name": name, "fileName": file_name, "mode": mode,
            "base": seeded(*base_spec) if base_spec else "absent", "payload": seeded(*pay_spec)}
    if base_spec is None:
        if file_name == "added_tokens.json":   # shutil.copy before the loop, both directions
            case.update(encoded=h(plain), decoded=h(plain), note="no base counterpart: copied as is (both ways)")
        else:                                   # open(base) raises before dst is opened
            case.update(encoded=None, decoded=None, expect="no-output", note="the published script prints an "
                        "exception for this file and writes nothing (only added_tokens.json is copied); report it")
        return case
    xored = oa_xor(plain, base := xorshift32(*base_spec))
    assert xored == oa_xor_blocks(plain, base) and oa_xor(xored, base) == plain
    assert len(base) >= len(plain) or xored[len(base):] == plain[len(base):]  # tail passes through
    if mode == "plain":
        case.update(encoded=h(xored), decoded=h(plain))
    else:
        packed = gz(xored, file_name)
        assert gzip.decompress(packed) == xored
        made = f"CPython {platform.python_version()}, zlib {zlib.ZLIB_RUNTIME_VERSION}"
        case.update(xored=h(xored), encoded={**h(packed), "base64": base64.b64encode(packed).decode()},
                    decoded=h(plain), producedWith=made,
                    note="encoded = gzip(payload XOR base): level 9, FNAME=fileName, mtime 0 (the published script "
                    "writes the current time); bytes as produced here (producedWith). Other zlib builds or Python "
                    "versions may differ, so only gunzip(encoded) == xored and decode(encoded) == decoded are "
                    "normative. Decode gunzips first, then XORs with the base.")
    return case


# OB_BASE stands in for LLaMA-7B consolidated.00.pth (> 16 MiB). Cases: name, encFileName, base, payload (seed, length)
OB_BASE = (201, 20000001)
OB_CASES = [
    ("payload-shorter-than-key", "tokenizer.model.enc", OB_BASE, (202, 1000003)),
    ("payload-exactly-key", "pytorch_model-00002-of-00003.bin.enc", OB_BASE, (203, OB_PREFIX)),
    ("payload-key-plus-one", "pytorch_model-00003-of-00003.bin.enc", OB_BASE, (204, OB_PREFIX + 1)),
    ("payload-two-keys-and-a-bit", "pytorch_model-00001-of-00003.bin.enc", OB_BASE, (205, 2 * OB_PREFIX + 4099)),
    ("empty-payload", "generation_config.json.enc", OB_BASE, (206, 0)),
    ("base-exactly-16MiB", "config.json.enc", (201, OB_PREFIX), (207, 70001)),
    ("base-shorter-than-16MiB", "special_tokens_map.json.enc", (201, 10000000), (208, 1000)),
]


def ob_case(name, enc_name, base_spec, pay_spec):
    base, plain = xorshift32(*base_spec), xorshift32(*pay_spec)
    want = xorshift32(OB_BASE[0], OB_PREFIX)  # the key the release was made with
    key = base[:OB_PREFIX]
    case = {"name": name, "encFileName": enc_name, "outFileName": enc_name[:-len(".enc")],
            "base": seeded(*base_spec), "keyPrefix": h(key), "expectedKeyMd5": hashlib.md5(want).hexdigest(),
            "payload": seeded(*pay_spec)}
    if len(key) < OB_PREFIX:
        case.update(encoded=h(xor(plain, want[:len(plain)])), decoded=None, expect="error", note="base shorter than "
                    "16 MiB: the script reads fewer bytes, their md5 cannot match, it exits before touching any file")
        return case
    reps = -(-len(plain) // OB_PREFIX)
    enc = xor(plain, (key * reps)[:len(plain)])
    assert all(enc[x] == plain[x] ^ key[x % OB_PREFIX] for x in range(0, len(plain), 999983))  # spot-check
    assert xor(enc, (key * reps)[:len(plain)]) == plain
    case.update(encoded=h(enc), decoded=h(plain))
    return case


COMMON_ASSUMPTIONS = [
    "Reads of regular files (and of GzipFile) return full blocks until EOF, as CPython does; the published loops "
    "would mis-align or stop early otherwise. Lengths here are small stand-ins; neither script depends on real sizes.",
]
OA_ABOUT = (
    "Golden vectors for spec §2 (OpenAssistant xor_codec), from an independent Python reading of the spec "
    f"(scripts/vectors/make_xor_codec_vectors.py), not from running the published script. Confirmed by reading {OA_SRC}"
    ": block_size 4096; a shorter base block is zero-padded (payload bytes past the base's end pass through), a longer "
    "one cut to the payload block, so output length = payload length; encode and decode are the same XOR; the output "
    "keeps the payload's file name; added_tokens.json is shutil.copy'd first (both directions) and the later XOR "
    "attempt fails on the missing base before the output is opened; any other file without a base counterpart gets no "
    "output (exception printed); --compress makes encode write gzip.open(dst,'wb') (default level 9, current mtime, "
    "FNAME=name) of the XORed bytes and decode gunzip the payload before XORing; the default is decode, uncompressed.")
OA_ASSUME = [
    "'encoded' = what --encode writes from 'payload' (the plaintext model file) and 'base'; 'decoded' = what decode "
    "writes from 'encoded' (equal to 'payload'). Plain mode: 'encoded' is also decode(payload), the same XOR.",
    "Not covered: the published script crashes (uncaught) when the payload folder has no added_tokens.json, and "
    "would XOR added_tokens.json if the base folder had one.",
    "gzip-mode encoded bytes are not normative (zlib build; Python version: XFL/OS header bytes, deflate output).",
]
OB_ABOUT = (
    "Golden vectors for spec §3 (OpenBuddy), from an independent Python reading of the spec "
    f"(scripts/vectors/make_xor_codec_vectors.py), not from running the published script. Confirmed by reading {OB_SRC}"
    ": key = the first 16,777,216 bytes read from the base (SEED_SIZE = 16*1024*1024); their md5 is checked against "
    "08cf0f43451cc4ae056e0b19e56c1fcf before any file; each X.enc (glob '*.enc' in the folder, not recursive) is read "
    "in 16 MiB chunks, each XORed with the key's first len(chunk) bytes, so keystream(x) = key[x mod 16 MiB]; output "
    "name = os.path.splitext(X.enc)[0] = X; an existing output is skipped; no header, no output checksum; an empty "
    "X.enc gives an empty X.")
OB_ASSUME = [
    "'expectedKeyMd5' stands for the constant 08cf0f43... with these seeded stand-ins: the md5 of the first 16 MiB of "
    "base seed 201 (every case's intended key). 'base-exactly-16MiB' has the same key: only the prefix matters.",
    "Base shorter than 16 MiB: the published md5 check rejects it (without it numpy would fail with a shape mismatch "
    "on any chunk longer than the key); we expect a clear error. Its 'encoded' is made with the intended key.",
]


def write(name, about, assume, cases):
    doc = {"about": about, "generator": GENERATOR, "assumptions": COMMON_ASSUMPTIONS + assume, "cases": cases}
    (OUT / name).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def main():
    if "--skip-self-check" not in sys.argv:
        first = json.loads((OUT / "xor-release.json").read_text())["cases"][0]["plain"]
        assert h(xorshift32(first["seed"], first["length"])).items() <= first.items(), "xorshift32 mismatch"
    write("xor-codec.json", OA_ABOUT, OA_ASSUME, [oa_case(*c) for c in OA_CASES])
    write("xor-prefix.json", OB_ABOUT, OB_ASSUME, [ob_case(*c) for c in OB_CASES])


if __name__ == "__main__":
    main()
