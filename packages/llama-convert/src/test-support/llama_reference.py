"""Tiny LLaMAs in Meta's original layout and their Hugging Face conversion, both made with real torch 1.13.1.

  llama_reference.py <dir> <shards> <seed> <max_shard_bytes>
      the row-math case (dim 64, 8 heads, 2 layers), every tensor also as raw bytes:
      <dir>/params.json                      as the originals ship it
      <dir>/raw/<shard>/<original name>      each original tensor's bytes (float16, C order)
      <dir>/hf/<shard files>, index.json     the conversion, saved with torch.save
      <dir>/hf-raw/<hf name>                 each converted tensor's bytes
      <dir>/plan.json                        the converted state dict: names, dtypes, shapes, in order
  llama_reference.py originals <root> <model> <shards> <seed> [dim heads layers]
      Meta's download: <root>/<model>/consolidated.NN.pth (torch.save'd dicts, float16, rope.freqs
      too), <root>/<model>/params.json (no final newline), <root>/tokenizer.model (seeded bytes)
  llama_reference.py reference <model dir> <out dir> <max_shard_bytes>
      the converted shards and index, made by torch from torch.load of the originals
  llama_reference.py compare <ours> <reference>
      torch.load of every shard of both: the same names in the same order, dtypes, shapes and bits

The conversion restates convert_llama_weights_to_hf.py at transformers d04ec99 (write_model) with the
same torch operations: per-shard head views concatenated on dim 0 then the rotary permutation for wq
and wk, dim 0 for wv, w1, w3 and output, dim 1 for wo, w2 and tok_embeddings, norms from shard 0.
Then what from_pretrained(torch_dtype=float16) + save_pretrained did: state_dict() order, inv_freq
through float16 and back to float32, shard_checkpoint's greedy split, torch.save of each shard's
plain dict, json.dumps(indent=2, sort_keys=True) + newline for the index.
"""
import json
import math
import os
import sys

import torch

VOCAB = 32000
BITS = {torch.float16: torch.int16, torch.float32: torch.int32}


def params_json(dim, heads, layers):
    return json.dumps({"dim": dim, "multiple_of": 256, "n_heads": heads, "n_layers": layers, "norm_eps": 1e-06, "vocab_size": -1})


def make_originals(shards, gen, dim, heads, layers):
    inter = int(math.ceil(dim * 8 / 3) + 255) // 256 * 256
    rand = lambda *shape: torch.randn(*shape, generator=gen).half()
    loaded = []
    for _ in range(shards):
        sd = {"tok_embeddings.weight": rand(VOCAB, dim // shards), "norm.weight": rand(dim), "output.weight": rand(VOCAB // shards, dim)}
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
        loaded.append(sd)
    return loaded


def convert(loaded, dim, heads, layers):
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
    # from_pretrained copies every loaded tensor into the model's own parameters: contiguous, one storage each
    return {name: t.contiguous().clone() for name, t in hf.items()}


def save_sharded(hf, out, max_shard):
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


def row_math_case(out, shards, seed, max_shard):
    dim, heads, layers = 64, 8, 2
    with open(os.path.join(out, "params.json"), "w") as f:
        f.write(params_json(dim, heads, layers))
    loaded = make_originals(shards, torch.Generator().manual_seed(seed), dim, heads, layers)
    for s, sd in enumerate(loaded):
        os.makedirs(os.path.join(out, "raw", str(s)), exist_ok=True)
        for name, t in sd.items():
            t.numpy().tofile(os.path.join(out, "raw", str(s), name))
    hf = convert(loaded, dim, heads, layers)
    os.makedirs(os.path.join(out, "hf-raw"), exist_ok=True)
    for name, t in hf.items():
        t.numpy().tofile(os.path.join(out, "hf-raw", name))
    dtype_names = {torch.float16: "F16", torch.float32: "F32"}
    with open(os.path.join(out, "plan.json"), "w") as f:
        json.dump([{"name": n, "dtype": dtype_names[t.dtype], "shape": list(t.shape)} for n, t in hf.items()], f)
    save_sharded(hf, os.path.join(out, "hf"), max_shard)


def originals(root, model, shards, seed, dim=512, heads=4, layers=2):
    gen = torch.Generator().manual_seed(seed)
    folder = os.path.join(root, model)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "params.json"), "w") as f:
        f.write(params_json(dim, heads, layers))
    for s, sd in enumerate(make_originals(shards, gen, dim, heads, layers)):
        # Meta's files also hold the rotary table, which the converter never reads.
        sd["rope.freqs"] = torch.rand(dim // heads // 2, generator=gen)
        torch.save(sd, os.path.join(folder, f"consolidated.{s:02d}.pth"))
    with open(os.path.join(root, "tokenizer.model"), "wb") as f:
        f.write(bytes(torch.randint(0, 256, (4099,), generator=gen, dtype=torch.uint8).tolist()))


def reference(model_dir, out, max_shard):
    params = json.load(open(os.path.join(model_dir, "params.json")))
    names = sorted(n for n in os.listdir(model_dir) if n.startswith("consolidated."))
    loaded = [torch.load(os.path.join(model_dir, n), map_location="cpu") for n in names]
    save_sharded(convert(loaded, params["dim"], params["n_heads"], params["n_layers"]), out, max_shard)


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
    if command == "originals":
        originals(args[0], args[1], *[int(a) for a in args[2:]])
    elif command == "reference":
        reference(args[0], args[1], int(args[2]))
    elif command == "compare":
        compare(args[0], args[1])
    else:
        row_math_case(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
