"""Tiny LLaMAs in Meta's original layout, and their conversion as the 2023 script made it, with real torch 1.13.1.

  llama_originals.py make <root> <model> <shards> <seed> [dim heads layers]
      <root>/<model>/consolidated.NN.pth   torch.save'd dicts with Meta's names, float16 (and rope.freqs)
      <root>/<model>/params.json           as Meta wrote it, no final newline
      <root>/tokenizer.model               seeded bytes, next to the model folders as in the download
  llama_originals.py reference <model dir> <out dir> <max shard bytes>
      the converted folder's shards and index, made by torch from torch.load of the originals
  llama_originals.py compare <ours> <reference>
      torch.load of every shard of both: the same names in the same order, dtypes, shapes, and bits

Defaults keep what every published size shares, head dim 128, at dim 512, 4 heads, 2 layers, vocab
32000 (the converter's): the embeddings' dim-1 merge, whole-head rotary blocks and four-way splits
all happen as for 30B, in a few tens of MB.

The conversion restates convert_llama_weights_to_hf.py at transformers d04ec99 (write_model) with
the same torch operations, then what from_pretrained(torch_dtype=float16) + save_pretrained did:
state_dict() order, inv_freq through float16 and back to float32, shard_checkpoint's greedy split,
torch.save of each shard's plain dict, the index as json.dumps(indent=2, sort_keys=True) + newline.
"""
import json
import math
import os
import sys

import torch


def make(root, model, shards, seed, dim=512, heads=4, layers=2):
    vocab, inter = 32000, int(math.ceil(dim * 8 / 3) + 255) // 256 * 256
    gen = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.randn(*shape, generator=gen).half()
    folder = os.path.join(root, model)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "params.json"), "w") as f:
        f.write(json.dumps({"dim": dim, "multiple_of": 256, "n_heads": heads, "n_layers": layers, "norm_eps": 1e-06, "vocab_size": -1}))
    for s in range(shards):
        sd = {"tok_embeddings.weight": rand(vocab, dim // shards), "norm.weight": rand(dim), "output.weight": rand(vocab // shards, dim)}
        for i in range(layers):
            p = f"layers.{i}."
            for w in ("wq", "wk", "wv"):
                sd[p + f"attention.{w}.weight"] = rand(dim // shards, dim)
            sd[p + "attention.wo.weight"] = rand(dim, dim // shards)
            sd[p + "feed_forward.w1.weight"] = rand(inter // shards, dim)
            sd[p + "feed_forward.w2.weight"] = rand(dim, inter // shards)
            sd[p + "feed_forward.w3.weight"] = rand(inter // shards, dim)
            sd[p + "attention_norm.weight"] = rand(dim)
            sd[p + "ffn_norm.weight"] = rand(dim)
        # Meta's files also hold the rotary table, which the converter never reads.
        sd["rope.freqs"] = torch.rand(dim // heads // 2, generator=gen)
        torch.save(sd, os.path.join(folder, f"consolidated.{s:02d}.pth"))
    with open(os.path.join(root, "tokenizer.model"), "wb") as f:
        f.write(bytes(torch.randint(0, 256, (4099,), generator=gen, dtype=torch.uint8).tolist()))


def reference(model_dir, out, max_shard):
    params = json.load(open(os.path.join(model_dir, "params.json")))
    dim, heads, layers = params["dim"], params["n_heads"], params["n_layers"]
    names = sorted(n for n in os.listdir(model_dir) if n.startswith("consolidated."))
    loaded = [torch.load(os.path.join(model_dir, n), map_location="cpu") for n in names]
    shards, head = len(loaded), dim // heads

    def permute(w):
        return w.view(heads, dim // heads // 2, 2, dim).transpose(1, 2).reshape(dim, dim)

    def heads_cat(name):
        return torch.cat([sd[name].view(heads // shards, head, dim) for sd in loaded], dim=0).reshape(dim, dim)

    def cat(name, d):
        return torch.cat([sd[name] for sd in loaded], dim=d)

    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, head, 2).float() / head))
    hf = {"model.embed_tokens.weight": cat("tok_embeddings.weight", 1)}
    for i in range(layers):
        p, o = f"model.layers.{i}.", f"layers.{i}."
        hf[p + "self_attn.q_proj.weight"] = permute(heads_cat(o + "attention.wq.weight"))
        hf[p + "self_attn.k_proj.weight"] = permute(heads_cat(o + "attention.wk.weight"))
        hf[p + "self_attn.v_proj.weight"] = heads_cat(o + "attention.wv.weight")
        hf[p + "self_attn.o_proj.weight"] = cat(o + "attention.wo.weight", 1)
        hf[p + "self_attn.rotary_emb.inv_freq"] = inv_freq.half().float()
        hf[p + "mlp.gate_proj.weight"] = cat(o + "feed_forward.w1.weight", 0)
        hf[p + "mlp.down_proj.weight"] = cat(o + "feed_forward.w2.weight", 1)
        hf[p + "mlp.up_proj.weight"] = cat(o + "feed_forward.w3.weight", 0)
        hf[p + "input_layernorm.weight"] = loaded[0][o + "attention_norm.weight"]
        hf[p + "post_attention_layernorm.weight"] = loaded[0][o + "ffn_norm.weight"]
    hf["model.norm.weight"] = loaded[0]["norm.weight"]
    hf["lm_head.weight"] = cat("output.weight", 0)
    # from_pretrained copies every tensor into the model's own parameters: contiguous, one storage each.
    hf = {name: t.contiguous().clone() for name, t in hf.items()}

    blocks, current, size, total = [], {}, 0, 0
    for name, t in hf.items():
        nbytes = t.numel() * t.element_size()
        if size + nbytes > max_shard:
            blocks.append(current)
            current, size = {}, 0
        current[name] = t
        size += nbytes
        total += nbytes
    blocks.append(current)
    os.makedirs(out, exist_ok=True)
    if len(blocks) == 1:
        torch.save(blocks[0], os.path.join(out, "pytorch_model.bin"))
        return
    weight_map = {}
    for i, block in enumerate(blocks):
        file = f"pytorch_model-{i + 1:05d}-of-{len(blocks):05d}.bin"
        torch.save(block, os.path.join(out, file))
        weight_map.update({name: file for name in block})
    with open(os.path.join(out, "pytorch_model.bin.index.json"), "w") as f:
        f.write(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2, sort_keys=True) + "\n")


BITS = {torch.float16: torch.int16, torch.float32: torch.int32}


def compare(ours, ref):
    files = sorted(n for n in os.listdir(ref) if n.endswith(".bin"))
    if sorted(n for n in os.listdir(ours) if n.endswith(".bin")) != files:
        sys.exit(f"shard files differ: {sorted(os.listdir(ours))} vs {files}")
    count = 0
    for name in files:
        a = torch.load(os.path.join(ours, name), map_location="cpu")
        b = torch.load(os.path.join(ref, name), map_location="cpu")
        if list(a) != list(b):
            sys.exit(f"{name}: names or order differ")
        for key in b:
            x, y = a[key], b[key]
            if x.dtype != y.dtype or x.shape != y.shape or not torch.equal(x.view(BITS[x.dtype]), y.view(BITS[y.dtype])):
                sys.exit(f"{name}: {key} differs ({x.dtype} {tuple(x.shape)} vs {y.dtype} {tuple(y.shape)})")
            count += 1
    print(f"ok: {len(files)} shards, {count} tensors bit-identical")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "make":
        make(args[0], args[1], int(args[2]), int(args[3]), *[int(a) for a in args[4:]])
    elif command == "reference":
        reference(args[0], args[1], int(args[2]))
    elif command == "compare":
        compare(args[0], args[1])
    else:
        sys.exit(f"unknown command {command}")
