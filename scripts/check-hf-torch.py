#!/usr/bin/python3
"""Check that a recovered Hugging Face LLaMA folder really loads in PyTorch.

  /usr/bin/python3 scripts/check-hf-torch.py FOLDER [--reference FOLDER]

A matching SHA-256 proves the bytes are the ones the publisher hashed; this proves the bytes are
a model: every shard unpickles with torch.load(weights_only=True), the shards hold exactly what
pytorch_model.bin.index.json says, every shape follows config.json, and (with --reference) every
tensor equals the same-named tensor of a known-good folder.
Exit 0 and one summary line if all is well; else one line per problem on stderr and exit 1.
"""
import argparse
import json
import os
import re
import sys
import zipfile

import torch

INDEX = "pytorch_model.bin.index.json"


def expected_shapes(cfg):
    """Every tensor name LlamaForCausalLM saves, with its shape, derived from config.json."""
    h, i, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    shapes = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,),
              "lm_head.weight": (v, h)}
    for n in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{n}."
        for proj in ("q", "k", "v", "o"):
            shapes[p + f"self_attn.{proj}_proj.weight"] = (h, h)
        shapes[p + "mlp.gate_proj.weight"] = (i, h)
        shapes[p + "mlp.up_proj.weight"] = (i, h)
        shapes[p + "mlp.down_proj.weight"] = (h, i)
        shapes[p + "input_layernorm.weight"] = (h,)
        shapes[p + "post_attention_layernorm.weight"] = (h,)
    return shapes


# transformers < 4.31 also saved the rotary buffer (a function of config, not a weight), so
# checkpoints converted in the BELLE / point-alpaca era carry it. Allowed, never required.
INV_FREQ = re.compile(r"model\.layers\.(\d+)\.self_attn\.rotary_emb\.inv_freq")


def load_folder(folder, problems):
    """Return ({name: tensor}, facts) for a sharded HF folder; record problems as it goes."""
    facts = {"shards": 0, "complete": False, "legacy": 0}
    try:
        with open(os.path.join(folder, INDEX), encoding="utf-8") as f:
            weight_map = json.load(f)["weight_map"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        problems.append(f"{folder}: cannot read {INDEX}: {e}")
        return {}, facts
    by_shard = {}
    for name, shard in weight_map.items():
        # The index is as untrusted as the shards: it may only name files in this folder.
        if not isinstance(shard, str) or shard in ("", ".", "..") \
                or os.path.basename(shard) != shard:
            problems.append(f"{INDEX}: {name} maps to {shard!r}, not a file name in the folder")
            return {}, facts
        by_shard.setdefault(shard, set()).add(name)
    tensors, complete = {}, True
    for shard in sorted(by_shard):
        path = os.path.join(folder, shard)
        # torch's bundled miniz is built without CRC checks, so torch.load happily returns a
        # tensor with a flipped byte in it. The zip's own CRC-32s catch that, reference or not.
        # (Pre-1.6 legacy, non-zip files have no CRCs; torch.load still reads them.)
        try:
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as z:
                    bad_member = z.testzip()
            else:
                bad_member, facts["legacy"] = None, facts["legacy"] + 1
        except Exception as e:  # truncated central directory, unreadable file, ...
            bad_member = f"zip unreadable ({type(e).__name__})"
        if bad_member:
            problems.append(f"{shard}: CRC-32 mismatch or damage in zip member {bad_member}")
        try:
            # weights_only: a recovered file is untrusted input until proven otherwise; the
            # restricted unpickler also rejects anything that is not plain tensors and dicts.
            sd = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # zip, pickle and storage errors come in many types
            problems.append(f"{shard}: torch.load failed: {type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else ''}")
            complete = False
            continue
        if not isinstance(sd, dict):
            problems.append(f"{shard}: holds a {type(sd).__name__}, not a dict of tensors")
            complete = False
            continue
        missing, extra = by_shard[shard] - set(sd), set(sd) - by_shard[shard]
        for name in sorted(missing):
            problems.append(f"{shard}: index maps {name} here but the shard lacks it")
        for name in sorted(extra):
            problems.append(f"{shard}: holds {name}, which the index does not map here")
        for name, t in sd.items():
            if not isinstance(t, torch.Tensor):
                problems.append(f"{shard}: {name} is a {type(t).__name__}, not a tensor")
            elif name in tensors:
                problems.append(f"{shard}: {name} also appears in another shard")
            else:
                tensors[name] = t
    facts.update(shards=len(by_shard), complete=complete)
    return tensors, facts


def check_shapes(tensors, complete, cfg, problems):
    want = expected_shapes(cfg)
    # A shard that did not load is already reported; don't list each of its tensors again.
    for name in sorted(set(want) - set(tensors)) if complete else ():
        problems.append(f"missing tensor {name} (config.json asks for it)")
    head_dim = cfg["hidden_size"] // cfg["num_attention_heads"]
    for name, t in sorted(tensors.items()):
        m = INV_FREQ.fullmatch(name)
        if m and int(m.group(1)) < cfg["num_hidden_layers"]:
            shape = (head_dim // 2,)
        elif name in want:
            shape = want[name]
        else:
            problems.append(f"unexpected tensor {name} {tuple(t.shape)}")
            continue
        if tuple(t.shape) != shape:
            problems.append(f"{name}: shape {tuple(t.shape)}, config.json implies {shape}")


def bit_equal(a, b):
    # Recovery must be bit-exact. torch.equal on the values would call -0.0 equal to 0.0 and a
    # NaN unequal to itself, and compare fp16 with fp32 by value; so compare dtype, shape, bytes.
    if (a.dtype, a.shape) != (b.dtype, b.shape):
        return False
    as_bytes = lambda t: t.contiguous().reshape(-1).view(torch.uint8)
    return torch.equal(as_bytes(a), as_bytes(b))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--reference", help="known-good folder whose tensors must be equal")
    args = ap.parse_args()

    problems = []
    try:
        with open(os.path.join(args.folder, "config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
        bad = [k for k in ("hidden_size", "intermediate_size", "vocab_size",
                           "num_hidden_layers", "num_attention_heads")
               if not isinstance(cfg.get(k), int) or isinstance(cfg.get(k), bool)]
        for key in bad:
            problems.append(f"config.json: {key} missing or not an integer")
        cfg = None if bad else cfg
    except (OSError, ValueError, AttributeError) as e:
        problems.append(f"cannot read config.json: {e}")
        cfg = None
    tensors, facts = load_folder(args.folder, problems)
    if cfg is not None:
        check_shapes(tensors, facts["complete"], cfg, problems)

    note = ""
    if args.reference:
        ref_problems = []
        ref, ref_facts = load_folder(args.reference, ref_problems)
        problems += [f"reference: {p}" for p in ref_problems]
        for name in sorted(set(ref) | set(tensors)):
            if name not in ref or name not in tensors:
                # Only worth a line when both sides loaded whole; else it's an echo.
                if facts["complete"] and ref_facts["complete"]:
                    where = "reference" if name in ref else args.folder
                    problems.append(f"{name}: only in {where}")
            elif not bit_equal(ref[name], tensors[name]):
                problems.append(f"{name}: differs from reference")
        note = ", values equal reference"

    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"FAILED: {len(problems)} problem(s) in {args.folder}", file=sys.stderr)
        return 1
    crc = ("zip CRCs good" if not facts["legacy"] else
           f"{facts['legacy']} legacy (non-zip) shard(s) without CRCs")
    print(f"ok: {facts['shards']} shards, {len(tensors)} tensors, {crc}, "
          f"shapes match config.json{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
