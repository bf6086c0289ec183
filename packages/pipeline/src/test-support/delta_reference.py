"""Tiny LLaMA-shaped base/delta pairs and FastChat's apply_delta math, with real torch 1.13.1.

  delta_reference.py pair <dir> <seed> <delta vocab> <base shard bytes> <delta shard bytes> [dim heads layers]
      <dir>/base/   a LLaMA in Hugging Face layout (vocab 32000, float16, rotary inv_freq float32,
                    config.json), saved by save_pretrained's rules in shards of <base shard bytes>
      <dir>/delta/  a delta with <delta vocab> rows (32000: v1.1, 32001: v0 with [PAD]), its own
                    config.json and tokenizer files (tokenizer_class "LLaMATokenizer", as in March 2023)
      Some weights are chosen so that the sum overflows float16, or is a subnormal or -0.
  delta_reference.py apply <base> <delta> <out> <max shard bytes> <add-delta|add-delta-v0>
      FastChat's apply_delta with torch: fschat <= 0.1.10's [PAD] row of zeros first for v0
      (resize_token_embeddings, then input_embeddings[-1:] = 0), then `param.data += delta` for every
      base tensor; from_pretrained(torch_dtype=float16) sends inv_freq through float16 first.
      Saved as save_pretrained does: state-dict order, shard_checkpoint's greedy split, torch.save.
  delta_reference.py apply <base> <diff> <out> <max shard bytes> weight-diff
      Stanford Alpaca's weight_diff.py recover with torch: the base loaded in float32, [PAD] added by
      smart_tokenizer_and_embedding_resize (new rows = mean of the existing rows), then
      `state_dict_recovered[key].add_(state_dict_raw[key])`; prints the naive integrity sum
      (sum(t.sum() for t)) and saves the float32 state dict as save_pretrained does
  delta_reference.py compare-pad <ours> <reference>
      torch.load of every shard of both: equal bit for bit but for the [PAD] rows of embed_tokens and
      lm_head, which may differ in the last bit (torch's mean sums in an order it does not specify)
  delta_reference.py rewrite <folder> <out> <tensor to drop or -> <float16|float32>
      the folder's weights as one pytorch_model.bin, a tensor dropped, cast to a dtype; other files copied
  delta_reference.py strided <folder> <out> <tensor>
      as rewrite, with the tensor saved as a strided view of the same shape (t().contiguous().t())
  delta_reference.py flip <folder> <out> <tensor>
      as rewrite (same dtypes), with the tensor's first element flipped in sign (its value times -1)
"""
import json
import os
import shutil
import sys

import torch

VOCAB = 32000


def config(dim, heads, layers, inter, vocab):
    return {
        "architectures": ["LlamaForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
        "hidden_size": dim, "initializer_range": 0.02, "intermediate_size": inter, "max_position_embeddings": 2048,
        "model_type": "llama", "num_attention_heads": heads, "num_hidden_layers": layers, "pad_token_id": 0,
        "rms_norm_eps": 1e-06, "tie_word_embeddings": False, "torch_dtype": "float16", "transformers_version": "4.28.0.dev0",
        "use_cache": True, "vocab_size": vocab,
    }


def state_dict(gen, dim, heads, layers, inter, vocab, scale):
    rand = lambda *shape: (torch.randn(*shape, generator=gen) * scale).half()
    head = dim // heads
    sd = {"model.embed_tokens.weight": rand(vocab, dim)}
    for i in range(layers):
        p = f"model.layers.{i}."
        for w in ("q", "k", "v", "o"):
            sd[p + f"self_attn.{w}_proj.weight"] = rand(dim, dim)
        sd[p + "self_attn.rotary_emb.inv_freq"] = (1.0 / (10000.0 ** (torch.arange(0, head, 2).float() / head))) * (1 if scale == 1 else 0)
        sd[p + "mlp.gate_proj.weight"] = rand(inter, dim)
        sd[p + "mlp.down_proj.weight"] = rand(dim, inter)
        sd[p + "mlp.up_proj.weight"] = rand(inter, dim)
        sd[p + "input_layernorm.weight"] = rand(dim)
        sd[p + "post_attention_layernorm.weight"] = rand(dim)
    sd["model.norm.weight"] = rand(dim)
    sd["lm_head.weight"] = rand(vocab, dim)
    return sd


def save_sharded(sd, out, max_shard):
    blocks, current, size, total = [], {}, 0, 0
    for name, t in sd.items():
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


def write_json(path, value):
    with open(path, "w") as f:
        f.write(json.dumps(value, indent=2, sort_keys=True) + "\n")


def pair(out, seed, delta_vocab, base_shard, delta_shard, dim=64, heads=4, layers=2):
    gen = torch.Generator().manual_seed(seed)
    inter = int((-(-dim * 8 // 3)) + 255) // 256 * 256
    base = state_dict(gen, dim, heads, layers, inter, VOCAB, 1)
    delta = state_dict(gen, dim, heads, layers, inter, delta_vocab, 0.01)
    # Sums that leave the normal range: overflow to inf, a subnormal, an exact cancellation to +0, -0 + -0.
    q = "model.layers.0.self_attn.q_proj.weight"
    base[q][0, :4] = torch.tensor([65000.0, -65000.0, 6.0e-5, 0.5]).half()
    delta[q][0, :4] = torch.tensor([100.0, -100.0, -6.0e-5, -0.5]).half()
    base[q][1, 0], delta[q][1, 0] = torch.tensor(-0.0).half(), torch.tensor(-0.0).half()
    if delta_vocab > VOCAB:
        delta["model.embed_tokens.weight"][-1, 0] = torch.tensor(-0.0).half()
    save_sharded(base, os.path.join(out, "base"), base_shard)
    write_json(os.path.join(out, "base", "config.json"), config(dim, heads, layers, inter, VOCAB))
    save_sharded(delta, os.path.join(out, "delta"), delta_shard)
    d = os.path.join(out, "delta")
    write_json(os.path.join(d, "config.json"), config(dim, heads, layers, inter, delta_vocab))
    write_json(os.path.join(d, "generation_config.json"), {"_from_model_config": True, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "transformers_version": "4.28.0.dev0"})
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        f.write('{"bos_token": "", "eos_token": "", "model_max_length": 1000000000000000019884624838656, "tokenizer_class": "LLaMATokenizer", "unk_token": ""}')
    with open(os.path.join(d, "special_tokens_map.json"), "w") as f:
        f.write("{}")
    with open(os.path.join(d, "tokenizer.model"), "wb") as f:
        f.write(bytes(torch.randint(0, 256, (4099,), generator=gen, dtype=torch.uint8).tolist()))


def load_folder(folder):
    index = os.path.join(folder, "pytorch_model.bin.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["pytorch_model.bin"]
    sd = {}
    for name in files:
        sd.update(torch.load(os.path.join(folder, name), map_location="cpu"))
    return sd


def weight_diff(base_dir, diff_dir, out, max_shard):
    raw = {name: t.float() for name, t in load_folder(base_dir).items()}
    recovered = load_folder(diff_dir)
    for name in ("model.embed_tokens.weight", "lm_head.weight"):
        old = raw[name]
        grown = torch.empty(old.shape[0] + 1, old.shape[1], dtype=old.dtype)
        grown[: old.shape[0]] = old
        grown[-1:] = grown[:-1].mean(dim=0, keepdim=True)
        raw[name] = grown
    for key in recovered:
        recovered[key].add_(raw[key])
    allsum = sum(recovered[key].sum() for key in recovered)
    print(repr(allsum.item()))
    save_sharded(recovered, out, max_shard)


def compare_pad(ours, ref):
    a, b = load_folder(ours), load_folder(ref)
    if list(a) != list(b):
        sys.exit("names or order differ")
    worst = 0
    for key in b:
        x, y = a[key], b[key]
        if x.dtype != y.dtype or x.shape != y.shape:
            sys.exit(f"{key}: {x.dtype} {tuple(x.shape)} vs {y.dtype} {tuple(y.shape)}")
        xi, yi = x.view(torch.int32), y.view(torch.int32)
        if key in ("model.embed_tokens.weight", "lm_head.weight"):
            worst = max(worst, int((xi[-1].long() - yi[-1].long()).abs().max()))
            xi, yi = xi[:-1], yi[:-1]
        if not torch.equal(xi, yi):
            sys.exit(f"{key} differs")
    if worst > 1:
        sys.exit(f"a [PAD] row is {worst} ulp from torch's")
    print(f"ok: {len(b)} tensors bit-identical but the [PAD] rows, which are within {worst} ulp")


def apply(base_dir, delta_dir, out, max_shard, math):
    if math == "weight-diff":
        return weight_diff(base_dir, delta_dir, out, max_shard)
    base, delta = load_folder(base_dir), load_folder(delta_dir)
    if math == "add-delta-v0":
        for name in ("model.embed_tokens.weight", "lm_head.weight"):
            old = base[name]
            grown = torch.empty(old.shape[0] + 1, old.shape[1], dtype=old.dtype)
            grown[: old.shape[0]] = old
            grown[-1:] = 0
            base[name] = grown
    for name, param in base.items():
        assert name in delta or name.endswith("inv_freq"), name
        if param.dtype == torch.float32:
            base[name] = param.half().float() + (delta[name].half().float() if name in delta else 0)
        else:
            param += delta[name]
    save_sharded(base, out, max_shard)


def rewrite(folder, out, drop, dtype, flip=None, strided=None):
    sd = load_folder(folder)
    sd.pop(drop, None)
    cast = {"float16": torch.float16, "float32": torch.float32}.get(dtype)
    sd = {name: t if t.dtype == torch.float32 or cast is None else t.to(cast) for name, t in sd.items()}
    if flip is not None:
        sd[flip].view(-1)[0] *= -1
    if strided is not None:
        sd[strided] = sd[strided].t().contiguous().t()
    os.makedirs(out, exist_ok=True)
    torch.save(sd, os.path.join(out, "pytorch_model.bin"))
    for name in os.listdir(folder):
        if not name.startswith("pytorch_model"):
            shutil.copy(os.path.join(folder, name), os.path.join(out, name))


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "pair":
        pair(args[0], *[int(a) for a in args[1:]])
    elif command == "apply":
        apply(args[0], args[1], args[2], int(args[3]), args[4])
    elif command == "compare-pad":
        compare_pad(args[0], args[1])
    elif command == "strided":
        rewrite(args[0], args[1], "-", "keep", None, args[2])
    elif command == "flip":
        rewrite(args[0], args[1], "-", "keep", args[2])
    elif command == "rewrite":
        rewrite(*args)
    else:
        sys.exit(f"unknown command {command}")
