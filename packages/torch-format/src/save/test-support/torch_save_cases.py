"""Reference state dicts saved with real torch 1.13.1 (Debian's python3-torch), for the writer's tests.

  make <dir>   for each case: <dir>/torch/<file> by torch.save, <dir>/<case>.json describing its
               storages and tensors, <dir>/<case>.storages (every storage's bytes, in storage order)
  check <dir>  torch.load(<dir>/ours/<file>) must equal torch.load(<dir>/torch/<file>) tensor by
               tensor (dtype, shape, stride, offset, values, and which tensors share a storage)
"""
import json
import os
import sys

import torch


def llama_like(gen):
    # The names, dtypes and shapes of a 2023 HF LLaMA shard (dim 64, 4 heads, 2 layers, ffn 172).
    sd = {"model.embed_tokens.weight": torch.randn(100, 64, generator=gen).half()}
    for layer in range(2):
        p = f"model.layers.{layer}."
        for proj in ("q", "k", "v", "o"):
            sd[p + f"self_attn.{proj}_proj.weight"] = torch.randn(64, 64, generator=gen).half()
        sd[p + "self_attn.rotary_emb.inv_freq"] = 1.0 / (10000.0 ** (torch.arange(0, 16, 2).float() / 16))
        sd[p + "mlp.gate_proj.weight"] = torch.randn(172, 64, generator=gen).half()
        sd[p + "mlp.down_proj.weight"] = torch.randn(64, 172, generator=gen).half()
        sd[p + "mlp.up_proj.weight"] = torch.randn(172, 64, generator=gen).half()
        sd[p + "input_layernorm.weight"] = torch.randn(64, generator=gen).half()
        sd[p + "post_attention_layernorm.weight"] = torch.randn(64, generator=gen).half()
    sd["model.norm.weight"] = torch.randn(64, generator=gen).half()
    sd["lm_head.weight"] = torch.randn(100, 64, generator=gen).half()
    return sd


def shapes_and_dtypes(gen):
    # More than 10 storages (keys "10", "11" sort before "2"), 0-d, empty, 1-D to 4-D, every dtype.
    return {
        "scalar": torch.tensor(1.5),
        "empty": torch.empty(0).half(),
        "empty_2d": torch.empty(3, 0),
        "vec": torch.randn(5, generator=gen).half(),
        "mat": torch.randn(3, 4, generator=gen),
        "cube": torch.randn(2, 3, 4, generator=gen).half(),
        "hyper": torch.randn(2, 1, 3, 5, generator=gen),
        "wide": torch.randn(300, generator=gen).half(),
        "long_dim": torch.randn(70000, generator=gen).half(),
        "bf16": torch.randn(4, 4, generator=gen).bfloat16(),
        "f64": torch.randn(3, generator=gen).double(),
        "i64": torch.randint(-5, 5, (6,), generator=gen),
        "i32": torch.randint(-5, 5, (2, 2), generator=gen).int(),
        "i16": torch.randint(-5, 5, (3,), generator=gen).short(),
        "i8": torch.randint(-5, 5, (3,), generator=gen).char(),
        "u8": torch.randint(0, 255, (3,), generator=gen).byte(),
        "bool": torch.randint(0, 2, (4,), generator=gen).bool(),
    }


def shared_storages(gen):
    # Tied weights as module.state_dict() hands them over (two detached views of one storage),
    # a view at an offset, a transposed (non-contiguous) view, and storages first used out of order.
    emb = torch.randn(6, 4, generator=gen).half()
    base = torch.randn(10, generator=gen)
    return {
        "embed": emb.detach(),
        "other": torch.randn(3, generator=gen),
        "lm_head": emb.detach(),
        "tail": base[4:],
        "head_t": emb.t(),
        "base": base,
        "row": emb[2],
    }


def late_tie(gen):
    # A tie first seen after memo slot 255: its storage key and dtype class come back by LONG_BINGET.
    sd = {f"layer{i}": torch.randn(2, generator=gen).half() for i in range(40)}
    emb = torch.randn(3, 2, generator=gen).bfloat16()
    sd["embed"] = emb.detach()
    sd["lm_head"] = emb.detach()
    return sd


CASES = {
    "llama_like": ("pytorch_model-00001-of-00002.bin", llama_like),
    "shapes": ("shapes.bin", shapes_and_dtypes),
    "shared": ("tied.weights.pt", shared_storages),
    "late_tie": ("late_tie.bin", late_tie),
    "one": ("one", lambda gen: {"only": torch.randn(2, 2, generator=gen).half()}),
    "none": ("none.bin", lambda gen: {}),
    "thousand": ("thousand.bin", lambda gen: {f"t{i}": torch.randn(1, generator=gen).half() for i in range(1000)}),
    "thousand_and_one": ("thousand_and_one.bin", lambda gen: {f"t{i}": torch.randn(2, generator=gen) for i in range(1001)}),
}


def describe(sd):
    storages, index_of, tensors, chunks = [], {}, [], []
    for name, t in sd.items():
        s = t.storage()
        key = s.data_ptr() if s.size() > 0 else id(t)
        if key not in index_of:
            index_of[key] = len(storages)
            dtype = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32", torch.float64: "F64",
                     torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
                     torch.uint8: "U8", torch.bool: "BOOL"}[t.dtype]
            storages.append({"dtype": dtype, "numel": s.size()})
            chunks.append(bytes(s.untyped().tolist()))
        tensors.append({"name": name, "storage": index_of[key], "storageOffset": t.storage_offset(),
                        "shape": list(t.shape), "stride": list(t.stride())})
    return {"storages": storages, "tensors": tensors}, b"".join(chunks)


def make(out):
    os.makedirs(os.path.join(out, "torch"), exist_ok=True)
    for case, (file_name, build) in CASES.items():
        sd = build(torch.Generator().manual_seed(len(case)))
        torch.save(sd, os.path.join(out, "torch", file_name))
        spec, data = describe(sd)
        with open(os.path.join(out, case + ".json"), "w") as f:
            json.dump({"file": file_name, "spec": spec}, f)
        with open(os.path.join(out, case + ".storages"), "wb") as f:
            f.write(data)


def check(out):
    for case, (file_name, _) in CASES.items():
        want = torch.load(os.path.join(out, "torch", file_name))
        got = torch.load(os.path.join(out, "ours", file_name))
        assert type(got) is dict and list(got) == list(want), case
        ptrs_want, ptrs_got = {}, {}
        for name in want:
            a, b = want[name], got[name]
            assert (a.dtype, a.shape, a.stride(), a.storage_offset()) == (b.dtype, b.shape, b.stride(), b.storage_offset()), (case, name)
            assert torch.equal(a, b), (case, name)
            ptrs_want.setdefault(a.storage().data_ptr(), set()).add(name)
            ptrs_got.setdefault(b.storage().data_ptr(), set()).add(name)
        assert sorted(map(sorted, ptrs_want.values())) == sorted(map(sorted, ptrs_got.values())), case
    print("ok")


if __name__ == "__main__":
    {"make": make, "check": check}[sys.argv[1]](sys.argv[2])
