"""A tiny LLaMA in the original layout and its Hugging Face conversion, both made with real torch 1.13.1.

  llama_reference.py <dir> <shards> <seed> <max_shard_bytes>

Writes, from the seed:
  <dir>/params.json                      as the originals ship it
  <dir>/raw/<shard>/<original name>      each original tensor's bytes (float16, C order)
  <dir>/hf/<shard files>, index.json     the conversion, saved with torch.save
  <dir>/hf-raw/<hf name>                 each converted tensor's bytes
  <dir>/plan.json                        the converted state dict: names, dtypes, shapes, in order

The conversion restates convert_llama_weights_to_hf.py at transformers d04ec99 (write_model) with the
same torch operations: per-shard head views concatenated on dim 0 then the rotary permutation for wq
and wk, dim 0 for wv, w1, w3 and output, dim 1 for wo, w2 and tok_embeddings, norms from shard 0.
Then what from_pretrained(torch_dtype=float16) + save_pretrained did: state_dict() order, inv_freq
through float16 and back to float32, shard_checkpoint's greedy split, json.dumps(indent=2, sort_keys=True).
"""
import json
import math
import os
import sys

import torch

out, num_shards, seed, max_shard = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
dim, n_heads, n_layers, vocab = 64, 8, 2, 32000
inter = int(math.ceil(dim * 8 / 3) + 255) // 256 * 256
head = dim // n_heads
gen = torch.Generator().manual_seed(seed)
rand = lambda *shape: torch.randn(*shape, generator=gen).half()

with open(os.path.join(out, "params.json"), "w") as f:
    f.write(json.dumps({"dim": dim, "multiple_of": 256, "n_heads": n_heads, "n_layers": n_layers, "norm_eps": 1e-06, "vocab_size": -1}))

loaded = []
for s in range(num_shards):
    sd = {"tok_embeddings.weight": rand(vocab, dim // num_shards), "norm.weight": rand(dim), "output.weight": rand(vocab // num_shards, dim)}
    for i in range(n_layers):
        p = f"layers.{i}."
        for w in ("wq", "wk", "wv"):
            sd[p + f"attention.{w}.weight"] = rand(dim // num_shards, dim)
        sd[p + "attention.wo.weight"] = rand(dim, dim // num_shards)
        sd[p + "feed_forward.w1.weight"] = rand(inter // num_shards, dim)
        sd[p + "feed_forward.w2.weight"] = rand(dim, inter // num_shards)
        sd[p + "feed_forward.w3.weight"] = rand(inter // num_shards, dim)
        sd[p + "attention_norm.weight"] = rand(dim)
        sd[p + "ffn_norm.weight"] = rand(dim)
    loaded.append(sd)
    os.makedirs(os.path.join(out, "raw", str(s)), exist_ok=True)
    for name, t in sd.items():
        t.numpy().tofile(os.path.join(out, "raw", str(s), name))


def permute(w):
    return w.view(n_heads, dim // n_heads // 2, 2, dim).transpose(1, 2).reshape(dim, dim)


def heads_cat(name):
    return torch.cat([loaded[i][name].view(n_heads // num_shards, head, dim) for i in range(num_shards)], dim=0).reshape(dim, dim)


def cat(name, d):
    return torch.cat([loaded[i][name] for i in range(num_shards)], dim=d)


inv_freq = 1.0 / (10000.0 ** (torch.arange(0, head, 2).float() / head))
hf = {}
hf["model.embed_tokens.weight"] = cat("tok_embeddings.weight", 1)
for i in range(n_layers):
    p, o = f"model.layers.{i}.", f"layers.{i}."
    if num_shards == 1:
        q, k, v = permute(loaded[0][o + "attention.wq.weight"]), permute(loaded[0][o + "attention.wk.weight"]), loaded[0][o + "attention.wv.weight"]
    else:
        q, k, v = permute(heads_cat(o + "attention.wq.weight")), permute(heads_cat(o + "attention.wk.weight")), heads_cat(o + "attention.wv.weight")
    hf[p + "self_attn.q_proj.weight"] = q
    hf[p + "self_attn.k_proj.weight"] = k
    hf[p + "self_attn.v_proj.weight"] = v
    hf[p + "self_attn.o_proj.weight"] = cat(o + "attention.wo.weight", 1)
    hf[p + "self_attn.rotary_emb.inv_freq"] = inv_freq.half().float()
    hf[p + "mlp.gate_proj.weight"] = cat(o + "feed_forward.w1.weight", 0)
    hf[p + "mlp.down_proj.weight"] = cat(o + "feed_forward.w2.weight", 1)
    hf[p + "mlp.up_proj.weight"] = cat(o + "feed_forward.w3.weight", 0)
    hf[p + "input_layernorm.weight"] = loaded[0][o + "attention_norm.weight"].clone()
    hf[p + "post_attention_layernorm.weight"] = loaded[0][o + "ffn_norm.weight"].clone()
hf["model.norm.weight"] = loaded[0]["norm.weight"].clone()
hf["lm_head.weight"] = cat("output.weight", 0)
# from_pretrained copies every loaded tensor into the model's own parameters: contiguous, one storage each
hf = {name: t.contiguous().clone() for name, t in hf.items()}

os.makedirs(os.path.join(out, "hf-raw"), exist_ok=True)
for name, t in hf.items():
    t.numpy().tofile(os.path.join(out, "hf-raw", name))
dtype_names = {torch.float16: "F16", torch.float32: "F32"}
with open(os.path.join(out, "plan.json"), "w") as f:
    json.dump([{"name": n, "dtype": dtype_names[t.dtype], "shape": list(t.shape)} for n, t in hf.items()], f)

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
os.makedirs(os.path.join(out, "hf"), exist_ok=True)
if len(blocks) == 1:
    torch.save(blocks[0], os.path.join(out, "hf", "pytorch_model.bin"))
else:
    weight_map = {}
    for i, block in enumerate(blocks):
        file = f"pytorch_model-{i + 1:05d}-of-{len(blocks):05d}.bin"
        torch.save(block, os.path.join(out, "hf", file))
        weight_map.update({name: file for name in block})
    with open(os.path.join(out, "hf", "pytorch_model.bin.index.json"), "w") as f:
        f.write(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2, sort_keys=True) + "\n")
