#!/usr/bin/python3
"""Checkpoints for the torch-format tests, made by Debian's PyTorch 1.13.1 from a seed.

  /usr/bin/python3 make_checkpoints.py valid OUT_DIR [--seed N]    real torch.save files + torch's view
  /usr/bin/python3 make_checkpoints.py hostile OUT_DIR MARKER_DIR  files a loader must refuse
  /usr/bin/python3 make_checkpoints.py detonate FILE...            torch.load(FILE), trusting it
  /usr/bin/python3 make_checkpoints.py large FILE GIB              a LLaMA-shaped shard of about GIB GiB

`valid` writes NAME.bin and NAME.torch.json: every tensor as torch.load(weights_only=True) sees it
(dtype, shape, stride, storage offset, and which tensors share a storage). `hostile` writes the files
of hostile_checkpoints.py, whose payloads `touch` a file in MARKER_DIR when a trusting loader
unpickles them; `detonate` is torch.load itself (weights_only=False, as torch 1.13 defaults), so the
tests can show each payload is live while the reader under test runs none of them.
"""
import collections
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile_checkpoints  # noqa: E402
import torch_zip  # noqa: E402

HIDDEN, INTERMEDIATE, VOCAB, LAYERS = 16, 44, 32, 2


def llama_shaped(seed):
    """A tiny LLaMA state dict (fp16 weights, fp32 rotary buffers, tied embeddings) plus one of each
    case a reader must keep as it is: every dtype, views at an offset, shared storages, a 0-d and an
    empty tensor, a Parameter. Over 10 storages, so their keys sort "0", "1", "10", "11", "2"..."""
    g = torch.Generator().manual_seed(seed)
    randn = lambda *shape, dtype=torch.float16: torch.randn(*shape, generator=g).to(dtype)  # noqa: E731
    sd = collections.OrderedDict()
    sd["model.embed_tokens.weight"] = randn(VOCAB, HIDDEN)
    for n in range(LAYERS):
        p = f"model.layers.{n}."
        for proj in "qkvo":
            sd[p + f"self_attn.{proj}_proj.weight"] = randn(HIDDEN, HIDDEN)
        sd[p + "mlp.gate_proj.weight"] = randn(INTERMEDIATE, HIDDEN)
        sd[p + "mlp.up_proj.weight"] = randn(INTERMEDIATE, HIDDEN)
        sd[p + "mlp.down_proj.weight"] = randn(HIDDEN, INTERMEDIATE)
        sd[p + "input_layernorm.weight"] = randn(HIDDEN)
        sd[p + "post_attention_layernorm.weight"] = randn(HIDDEN)
        sd[p + "self_attn.rotary_emb.inv_freq"] = 1.0 / (10000 ** (torch.arange(0, 4, 2).float() / 4))
    sd["model.norm.weight"] = randn(HIDDEN)
    sd["lm_head.weight"] = sd["model.embed_tokens.weight"]  # tied: one storage, two complete names
    sd["extra.bf16"] = randn(3, 5, dtype=torch.bfloat16)
    sd["extra.f64"] = randn(2, 2, dtype=torch.float64)
    sd["extra.position_ids"] = torch.arange(7, dtype=torch.int64)
    sd["extra.i32"] = torch.randint(-2 ** 31, 2 ** 31 - 1, (3,), generator=g, dtype=torch.int32)
    sd["extra.i16"] = torch.randint(-2 ** 15, 2 ** 15 - 1, (4,), generator=g, dtype=torch.int16)
    sd["extra.i8"] = torch.randint(-128, 127, (5,), generator=g, dtype=torch.int8)
    sd["extra.u8"] = torch.randint(0, 255, (6,), generator=g, dtype=torch.uint8)
    sd["extra.bool"] = torch.randint(0, 2, (3, 1), generator=g).bool()
    sd["extra.scalar"] = torch.tensor(3.25)
    sd["extra.empty"] = torch.empty(0, 4, dtype=torch.float16)
    sd["extra.parameter"] = torch.nn.Parameter(randn(3, dtype=torch.float32))
    base = randn(20, dtype=torch.float32)
    sd["extra.view_at_offset"] = base[4:10]  # alone in its storage, not complete: kept as a copy
    whole = randn(4, 6)
    sd["extra.whole"] = whole
    sd["extra.whole_row1"] = whole[1]  # inside a complete tensor: dropped in its favour
    halves = randn(10, dtype=torch.float32)
    sd["extra.half_a"], sd["extra.half_b"] = halves[:5], halves[5:]  # side by side: both kept
    chain = randn(12, dtype=torch.float32)
    sd["extra.chain_whole"], sd["extra.chain_b"], sd["extra.chain_c"] = chain, chain[1:3], chain[5:7]
    return sd


def noncontiguous(seed):
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(3, 4, generator=g).to(torch.bfloat16)
    wide = torch.randn(4, 6, generator=g)
    return collections.OrderedDict([
        ("transposed", m.t()),
        ("every_other_column", wide[:, ::2]),
        ("expanded", torch.randn(1, 3, generator=g).to(torch.float16).expand(4, 3)),
        ("plain", torch.randn(5, generator=g)),
    ])


def describe(path, weights_only=True):
    """What torch itself reads back: the reference the reader is compared with. (torch 1.13's
    weights_only unpickler knows no protocol 4 opcode, so files written here at protocol 4-5 are
    loaded the ordinary way.)"""
    loaded = torch.load(path, map_location="cpu", weights_only=weights_only)
    if "state_dict" in loaded:
        loaded = loaded["state_dict"]
    storages, out = {}, []
    for name, t in loaded.items():
        s = t.storage()
        key = (s.data_ptr(), s.nbytes()) if s.data_ptr() else ("empty", name)
        out.append({"name": name, "dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                    "stride": list(t.stride()), "storage_offset": t.storage_offset(),
                    "storage": storages.setdefault(key, len(storages))})
    return out


def save(out, name, obj, **kwargs):
    path = os.path.join(out, f"{name}.bin")
    torch.save(obj, path, **kwargs)
    return path


def valid(out, seed):
    sd = llama_shaped(seed)
    paths = [save(out, "llama-mixed", sd), save(out, "plain-dict", dict(sd)),
             save(out, "protocol-4", sd, pickle_protocol=4), save(out, "protocol-5", sd, pickle_protocol=5),
             save(out, "noncontiguous", noncontiguous(seed)),
             save(out, "nested", {"state_dict": sd, "epoch": 3, "ema": torch.ones(2)})]
    module = torch.nn.Sequential(torch.nn.Embedding(VOCAB, HIDDEN), torch.nn.LayerNorm(HIDDEN), torch.nn.Linear(HIDDEN, VOCAB, bias=False))
    module[2].weight = module[0].weight  # tie, as a model's lm_head and embeddings
    paths.append(save(out, "module-state-dict", module.state_dict()))
    records = torch_zip.read_records(paths[0])
    paths.append(os.path.join(out, "zip64.bin"))
    torch_zip.write_zip64(paths[-1], records)
    paths.append(os.path.join(out, "python-zipfile.bin"))
    torch_zip.write_plain_zip(paths[-1], records, force_zip64=True)
    for path in paths:
        with open(path[:-4] + ".torch.json", "w") as f:
            json.dump(describe(path, weights_only="protocol-" not in path), f)


def large(path, gib):
    """A shard for benchmarks: 30B-sized fp16 layers (6656 x 6656 and 6656 x 17920) until about `gib`
    GiB, then one fp32 tensor of 4 GiB + 4 KiB, so that the archive holds a record and offsets past
    4 GiB (zip64) when gib > 4. Values are a cheap pattern, not random: only the layout matters."""
    sd, total, n = collections.OrderedDict(), 0, 0
    target = int(gib * 2 ** 30) - (2 ** 32 + 4096 if gib > 4.5 else 0)
    while total < target:
        for proj, shape in (("q_proj", (6656, 6656)), ("gate_proj", (17920, 6656))):
            t = torch.arange(shape[0] * shape[1], dtype=torch.int16).view(torch.float16).view(shape)
            sd[f"model.layers.{n}.self_attn.{proj}.weight"] = t
            total += t.numel() * 2
        n += 1
    if gib > 4.5:
        sd["big.fp32"] = torch.arange(2 ** 30 + 1024, dtype=torch.int32).view(torch.float32)
    sd["model.norm.weight"] = torch.ones(6656, dtype=torch.float16)
    torch.save(sd, path)


def detonate(path):
    try:
        torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # the payload has run by then; what it returns is no state dict
        print(f"{type(error).__name__}: {error}", file=sys.stderr)


if __name__ == "__main__":
    command, target = sys.argv[1], sys.argv[2]
    if command == "valid":
        valid(target, int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    elif command == "hostile":
        hostile_checkpoints.write_all(target, sys.argv[3], llama_shaped(1))
    elif command == "large":
        large(target, float(sys.argv[3]))
    elif command == "detonate":
        for path in sys.argv[2:]:
            detonate(path)
