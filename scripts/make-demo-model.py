#!/usr/bin/python3
"""Make a tiny, real, deterministic LLaMA checkpoint pair for demos and interop tests.

  /usr/bin/python3 scripts/make-demo-model.py --base-out DIR --model-out DIR [--seed N]

--base-out gets what Meta ships (consolidated.00.pth + params.json): the XOR KEY.
--model-out gets a "fine-tune" of it in Hugging Face layout (two shards + index + config +
tokenizer files): the PLAINTEXT that a BELLE-style release encrypts (spec §1).
Needs torch (Debian's python3-torch 1.13), nothing else. Same seed => same bytes, every file.
"""
import argparse
import hashlib
import json
import os

import torch

# Tiny dimensions, all pairwise different (128, 344, 512) so a shape checker that mixes up
# hidden/intermediate/vocab, or a transposed matrix, cannot pass by accident.
# 344 is what LLaMA's FeedForward computes for dim 128 with multiple_of 4:
# 4*ceil(int(2*4*128/3)/4). The base file comes out ~1.05 MB.
DIM, N_LAYERS, N_HEADS, VOCAB, MULTIPLE_OF, NORM_EPS = 128, 2, 4, 512, 4, 1e-6
HIDDEN = MULTIPLE_OF * ((int(2 * 4 * DIM / 3) + MULTIPLE_OF - 1) // MULTIPLE_OF)
INIT_RANGE = 0.02
TRANSFORMERS_VERSION = "4.28.0.dev0"  # the era of the BELLE / point-alpaca conversions


def make_base(gen):
    """LLaMA-1 consolidated.00.pth names and order, fp16."""
    def mat(rows, cols):
        return (torch.randn(rows, cols, generator=gen) * INIT_RANGE).half()

    def norm():  # RMSNorm gains sit around 1, not around 0
        return (1 + torch.randn(DIM, generator=gen) * 0.05).half()

    sd = {"tok_embeddings.weight": mat(VOCAB, DIM)}
    for i in range(N_LAYERS):
        p = f"layers.{i}."
        for w in ("wq", "wk", "wv", "wo"):
            sd[p + f"attention.{w}.weight"] = mat(DIM, DIM)
        sd[p + "feed_forward.w1.weight"] = mat(HIDDEN, DIM)
        sd[p + "feed_forward.w2.weight"] = mat(DIM, HIDDEN)
        sd[p + "feed_forward.w3.weight"] = mat(HIDDEN, DIM)
        sd[p + "attention_norm.weight"] = norm()
        sd[p + "ffn_norm.weight"] = norm()
    sd["norm.weight"] = norm()
    sd["output.weight"] = mat(VOCAB, DIM)
    return sd


def permute(w):
    # Meta interleaves the rotary pairs per head; HF wants them split in halves. Same expression
    # as transformers' convert_llama_weights_to_hf.py, so q/k bytes differ from wq/wk bytes.
    return w.view(N_HEADS, DIM // N_HEADS // 2, 2, DIM).transpose(1, 2).reshape(DIM, DIM)


def to_hf(base):
    """Rename (and permute q/k) in the order transformers' LlamaForCausalLM.state_dict() uses."""
    hf = {"model.embed_tokens.weight": base["tok_embeddings.weight"]}
    for i in range(N_LAYERS):
        m, b = f"model.layers.{i}.", f"layers.{i}."
        hf[m + "self_attn.q_proj.weight"] = permute(base[b + "attention.wq.weight"])
        hf[m + "self_attn.k_proj.weight"] = permute(base[b + "attention.wk.weight"])
        hf[m + "self_attn.v_proj.weight"] = base[b + "attention.wv.weight"]
        hf[m + "self_attn.o_proj.weight"] = base[b + "attention.wo.weight"]
        hf[m + "mlp.gate_proj.weight"] = base[b + "feed_forward.w1.weight"]
        hf[m + "mlp.down_proj.weight"] = base[b + "feed_forward.w2.weight"]
        hf[m + "mlp.up_proj.weight"] = base[b + "feed_forward.w3.weight"]
        hf[m + "input_layernorm.weight"] = base[b + "attention_norm.weight"]
        hf[m + "post_attention_layernorm.weight"] = base[b + "ffn_norm.weight"]
    hf["model.norm.weight"] = base["norm.weight"]
    hf["lm_head.weight"] = base["output.weight"]
    return hf


def fine_tune(hf, gen):
    # A seeded nudge (10% of the init scale) so the plaintext is not just renamed key bytes:
    # XORing a file with a near-copy of itself would hide keystream bugs behind zeros.
    # .clone().contiguous() everywhere: torch.save writes a tensor's WHOLE storage, so a view
    # would drag unrelated bytes in and make sizes depend on how the tensor was made.
    return {k: (v.float() + torch.randn(v.shape, generator=gen) * INIT_RANGE * 0.1)
            .half().clone().contiguous() for k, v in hf.items()}


def write_json(path, obj):
    # transformers' own format: indent 2, sorted keys, trailing newline.
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def fake_tokenizer_model(seed, size=4096):
    # LLaMA's real tokenizer.model is Meta's and cannot ship here. This stand-in only has to be a
    # file of the right kind of size that a release would encrypt; it is NOT a sentencepiece model
    # and LlamaTokenizer will refuse it. SHA-256 in counter mode: same bytes on every platform.
    head = b"model-recover demo: stand-in for tokenizer.model, not a sentencepiece model\n"
    out, n = bytearray(head), 0
    while len(out) < size:
        out += hashlib.sha256(f"tokenizer.model/{seed}/{n}".encode()).digest()
        n += 1
    return bytes(out[:size])


MODEL_CARD = """---
license: mit
tags: [llama, demo, model-recover]
---
# model-recover demo model (tiny LLaMA, seed {seed})

A {params:,}-parameter LLaMA-architecture model made by `scripts/make-demo-model.py` from
random numbers. It knows nothing and generates noise. It exists so that model-recover's XOR
encrypt/decrypt and Hugging Face interop can be shown and tested on real PyTorch files without
Meta's weights.

- base ("key"): `consolidated.00.pth` + `params.json`, LLaMA-1 layout, fp16
- this folder ("plaintext"): the same weights in Hugging Face layout (q/k rotary-permuted),
  plus a small seeded delta, in two shards with `pytorch_model.bin.index.json`
- dims: hidden {dim}, intermediate {hidden}, {heads} heads, {layers} layers, vocab {vocab}
- `tokenizer.model` is a deterministic stand-in, not a tokenizer: LlamaTokenizer cannot load it.
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-out", required=True)
    ap.add_argument("--model-out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    # One private generator, consumed in a fixed order: base first, then the delta.
    gen = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    base = make_base(gen)
    model = fine_tune(to_hf(base), gen)

    os.makedirs(args.base_out, exist_ok=True)
    os.makedirs(args.model_out, exist_ok=True)
    # Save to a PATH, like Meta and transformers did: the zip's inner folder name is taken
    # from the file name, so an open file object would give different bytes.
    torch.save(base, os.path.join(args.base_out, "consolidated.00.pth"))
    with open(os.path.join(args.base_out, "params.json"), "w", newline="\n") as f:
        # Meta's own format: one line, insertion order. Meta ships vocab_size -1 (filled in from
        # the tokenizer at load time); we have no real tokenizer, so the number is written.
        json.dump({"dim": DIM, "multiple_of": MULTIPLE_OF, "n_heads": N_HEADS,
                   "n_layers": N_LAYERS, "norm_eps": NORM_EPS, "vocab_size": VOCAB}, f)

    # Two shards, cut at the middle layer boundary: shard 1 = embeddings + first half of the
    # layers, shard 2 = the rest (~0.53 MB each). Like transformers, never split a tensor.
    names = list(model)
    cut = names.index(f"model.layers.{N_LAYERS // 2}.self_attn.q_proj.weight")
    shards = [names[:cut], names[cut:]]
    weight_map, total = {}, 0
    for n, keys in enumerate(shards, 1):
        fname = f"pytorch_model-{n:05d}-of-{len(shards):05d}.bin"
        torch.save({k: model[k] for k in keys}, os.path.join(args.model_out, fname))
        for k in keys:
            weight_map[k] = fname
            total += model[k].numel() * model[k].element_size()
    out = lambda name: os.path.join(args.model_out, name)
    write_json(out("pytorch_model.bin.index.json"),
               {"metadata": {"total_size": total}, "weight_map": weight_map})
    write_json(out("config.json"), {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": DIM, "intermediate_size": HIDDEN, "num_attention_heads": N_HEADS,
        "num_hidden_layers": N_LAYERS, "rms_norm_eps": NORM_EPS, "vocab_size": VOCAB,
        "torch_dtype": "float16", "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0,
        "max_position_embeddings": 2048, "max_sequence_length": 2048, "hidden_act": "silu",
        "initializer_range": INIT_RANGE, "tie_word_embeddings": False, "use_cache": True,
        "transformers_version": TRANSFORMERS_VERSION})
    write_json(out("generation_config.json"), {
        "_from_model_config": True, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0,
        "transformers_version": TRANSFORMERS_VERSION})
    write_json(out("special_tokens_map.json"),
               {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"})
    write_json(out("tokenizer_config.json"), {
        "add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
        "unk_token": "<unk>", "model_max_length": 2048, "clean_up_tokenization_spaces": False,
        "sp_model_kwargs": {}, "tokenizer_class": "LlamaTokenizer"})
    with open(out("tokenizer.model"), "wb") as f:
        f.write(fake_tokenizer_model(args.seed))
    with open(out("README.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(MODEL_CARD.format(seed=args.seed, params=sum(t.numel() for t in model.values()),
                                  dim=DIM, hidden=HIDDEN, heads=N_HEADS, layers=N_LAYERS,
                                  vocab=VOCAB))


if __name__ == "__main__":
    main()
