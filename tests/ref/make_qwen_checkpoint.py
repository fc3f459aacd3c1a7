#!/usr/bin/env python3
# make_qwen_checkpoint.py: writes a tiny random checkpoint in the published layout of SDAR,
# Fast-dLLM v2 or Dream (config.json keys, PyTorch tensor names, BF16 safetensors split into shards
# with model.safetensors.index.json, tokenizer.json), for converter and engine tests. Numpy only.
"""usage: make_qwen_checkpoint.py OUT_DIR --family sdar|fastdllm|dream [--layers N] [--hidden D]
       [--heads H] [--kv-heads K] [--head-dim HD] [--ff F] [--vocab V] [--shards S] [--seed S]
       [--tokenizer-json FILE]

The tokenizer is a small byte-level BPE in Qwen2's tokenizer.json format (256 byte tokens, merges
learnt from a fixed text, the added tokens <|endoftext|>, <|im_start|>, <|im_end|>, <think>, and
<|MASK|> for the block models), or a copy of --tokenizer-json (e.g. the real Qwen3 one; --vocab
must then exceed its largest id). Vocabulary entries past the tokenizer's are padding, as in the
published models (vocab_size 151936 for 151669 tokens).
"""

import argparse
import json
import os
import shutil
import struct

import numpy as np

QWEN2_PATTERN = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                 "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
SAMPLE = ("the cat sat on the mat. the dog ate the bone; then the cat and the dog slept in the "
          "sun. there is nothing there that the other one has not seen. ")


def byte_map():
    """GPT-2's byte -> printable character map, as Qwen2's ByteLevel pre-tokenizer uses it."""
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    chars = list(keep)
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(keep, chars)}


def tiny_tokenizer(n_merges, block_model):
    """A tokenizer.json dict: 256 byte tokens, n_merges learnt merges, then the added tokens."""
    bm = byte_map()
    vocab = {bm[b]: i for i, b in enumerate(range(256))}
    words = [[bm[b] for b in (" " + w if k else w).encode()] for k, w in enumerate(SAMPLE.split(" ")) if w]
    merges = []
    while len(merges) < n_merges:
        counts = {}
        for w in words:
            for a, b in zip(w, w[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + 1
        if not counts:
            break
        (a, b) = max(sorted(counts), key=lambda p: counts[p])
        merges.append([a, b])
        vocab[a + b] = len(vocab)
        for w in words:
            i = 0
            while i + 1 < len(w):
                if w[i] == a and w[i + 1] == b:
                    w[i:i + 2] = [a + b]
                i += 1
    added = [("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True), ("<think>", False)]
    if block_model:
        added.append(("<|MASK|>", True))
    added_tokens = []
    for s, special in added:
        added_tokens.append({"id": len(vocab) + len(added_tokens), "content": s, "single_word": False,
                             "lstrip": False, "rstrip": False, "normalized": False, "special": special})
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }


def to_bf16(a):
    """float array -> uint16 BF16 bits, rounded to nearest even."""
    u = np.asarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        b = to_bf16(a).tobytes()
        header[name] = {"dtype": "BF16", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)
    return off


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--family", required=True, choices=("sdar", "fastdllm", "dream"))
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--head-dim", type=int, default=0, help="Qwen3 head_dim (SDAR); 0: hidden / heads")
    ap.add_argument("--ff", type=int, default=96)
    ap.add_argument("--vocab", type=int, default=320)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tokenizer-json", default=None)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    D, L, H, K, F, V = a.hidden, a.layers, a.heads, a.kv_heads, a.ff, a.vocab
    hd = a.head_dim or D // H
    block_model = a.family != "dream"

    if a.tokenizer_json:
        shutil.copyfile(a.tokenizer_json, os.path.join(a.out, "tokenizer.json"))
        with open(a.tokenizer_json, encoding="utf-8") as f:
            tj = json.load(f)
    else:
        tj = tiny_tokenizer(24, block_model)
        with open(os.path.join(a.out, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tj, f, ensure_ascii=False, indent=1)
    ids = {t["content"]: t["id"] for t in tj["added_tokens"]}
    n_tok = max(max(tj["model"]["vocab"].values()), max(ids.values())) + 1
    if V <= n_tok + 1:
        raise SystemExit("--vocab %d must exceed the tokenizer's %d tokens" % (V, n_tok))
    eos = ids["<|endoftext|>"]
    mask = ids.get("<|MASK|>", n_tok)  # Dream's mask id lies past its tokenizer's added tokens

    common = {
        "attention_dropout": 0.0, "bos_token_id": eos, "eos_token_id": ids.get("<|im_end|>", eos),
        "hidden_act": "silu", "hidden_size": D, "initializer_range": 0.02, "intermediate_size": F,
        "max_position_embeddings": 512, "max_window_layers": L, "num_attention_heads": H,
        "num_hidden_layers": L, "num_key_value_heads": K, "rms_norm_eps": 1e-6, "rope_scaling": None,
        "rope_theta": 1000000.0, "sliding_window": None, "torch_dtype": "bfloat16",
        "transformers_version": "4.52.4", "use_cache": True, "use_sliding_window": False, "vocab_size": V,
    }
    if a.family == "sdar":
        cfg = dict(common, architectures=["SDARForCausalLM"], model_type="sdar", attention_bias=False,
                   head_dim=hd, block_size=4, mask_token_id=mask, tie_word_embeddings=True,
                   fuse_cross_entropy=True,
                   auto_map={"AutoConfig": "configuration_sdar.SDARConfig",
                             "AutoModel": "modeling_sdar.SDARModel",
                             "AutoModelForCausalLM": "modeling_sdar.SDARForCausalLM"})
    elif a.family == "fastdllm":
        cfg = dict(common, architectures=["Fast_dLLM_QwenForCausalLM"], model_type="Fast_dLLM_Qwen",
                   bd_size=16, tie_word_embeddings=True, layer_types=["full_attention"] * L,
                   auto_map={"AutoConfig": "configuration.Fast_dLLM_QwenConfig",
                             "AutoModelForCausalLM": "modeling.Fast_dLLM_QwenForCausalLM"})
    else:
        cfg = dict(common, architectures=["DreamModel"], model_type="Dream", mask_token_id=mask,
                   pad_token_id=eos, tie_word_embeddings=False,
                   auto_map={"AutoConfig": "configuration_dream.DreamConfig",
                             "AutoModel": "modeling_dream.DreamModel"})
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)

    def w(*shape, scale=None):
        s = scale if scale is not None else 1.0 / np.sqrt(shape[-1])
        return (rng.standard_normal(shape) * s).astype(np.float32)

    t = {"model.embed_tokens.weight": w(V, D, scale=1.0)}
    for i in range(L):
        p = "model.layers.%d." % i
        t[p + "input_layernorm.weight"] = (1 + 0.2 * rng.standard_normal(D)).astype(np.float32)
        t[p + "self_attn.q_proj.weight"] = w(H * hd, D)
        t[p + "self_attn.k_proj.weight"] = w(K * hd, D)
        t[p + "self_attn.v_proj.weight"] = w(K * hd, D)
        if a.family != "sdar":  # Qwen2.5: bias on q, k, v
            t[p + "self_attn.q_proj.bias"] = w(H * hd, scale=0.5)
            t[p + "self_attn.k_proj.bias"] = w(K * hd, scale=0.5)
            t[p + "self_attn.v_proj.bias"] = w(K * hd, scale=0.5)
        t[p + "self_attn.o_proj.weight"] = w(D, H * hd)
        if a.family == "sdar":  # Qwen3: per-head q/k RMSNorm
            t[p + "self_attn.q_norm.weight"] = (1 + 0.2 * rng.standard_normal(hd)).astype(np.float32)
            t[p + "self_attn.k_norm.weight"] = (1 + 0.2 * rng.standard_normal(hd)).astype(np.float32)
        t[p + "post_attention_layernorm.weight"] = (1 + 0.2 * rng.standard_normal(D)).astype(np.float32)
        t[p + "mlp.gate_proj.weight"] = w(F, D)
        t[p + "mlp.up_proj.weight"] = w(F, D)
        t[p + "mlp.down_proj.weight"] = w(D, F)
    t["model.norm.weight"] = (1 + 0.2 * rng.standard_normal(D)).astype(np.float32)
    if cfg["tie_word_embeddings"]:
        t["lm_head.weight"] = t["model.embed_tokens.weight"]  # saved like transformers does when tied
    else:
        t["lm_head.weight"] = w(V, D)

    names = list(t)
    per = -(-len(names) // a.shards)
    weight_map, total = {}, 0
    for s in range(a.shards):
        part = names[s * per:(s + 1) * per]
        fn = "model-%05d-of-%05d.safetensors" % (s + 1, a.shards)
        total += write_safetensors(os.path.join(a.out, fn), {n: t[n] for n in part})
        for n in part:
            weight_map[n] = fn
    with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


if __name__ == "__main__":
    main()
