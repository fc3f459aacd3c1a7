# make_hf_checkpoint.py: writes a tiny BD3-LM/MDLM checkpoint in the published Hugging Face layout
# (config.json + model.safetensors, random weights, sigma_map and adaLN included) and, optionally, a
# small GPT-2-style tokenizer. Test fixture generator; depends on the standard library and numpy only.
"""usage: make_hf_checkpoint.py OUT_DIR [--layers N] [--dim D] [--heads H] [--cond C] [--ctx N]
       [--block-size B | --mdlm] [--vocab-from TOK_DIR | --tokenizer-out TOK_DIR] [--seed S]
       [--prefix backbone.] [--dtype F32|F16|BF16] [--break KIND]

--vocab-from TOK_DIR  vocab_size = tokens in TOK_DIR's vocab.json/encoder.json + 1 (mask)
--tokenizer-out DIR   also writes vocab.json + merges.txt of a byte-level vocabulary (256 byte
                      tokens, a few merges, <|endoftext|>) and sizes the model for it
--break KIND          writes a damaged checkpoint for hostile-input tests: wrong_shape,
                      missing_tensor, unknown_tensor, missing_config_key, bad_config_value
"""

import argparse
import json
import os
import struct

import numpy as np


def byte_to_unicode():
    """GPT-2's byte -> character mapping."""
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def write_small_tokenizer(out_dir):
    """256 byte tokens, merges for a few common English pieces, <|endoftext|>. Returns its size."""
    m = byte_to_unicode()
    tokens = [m[b] for b in range(256)]
    merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "a n", "o n", "Ġ s", "e n", "Ġ the",
              "Ġ o", "r e", "a t", "Ġ w", "i s", "an d", "Ġa nd"]
    have = set(tokens)
    kept = []
    for mg in merges:
        left, right = mg.split(" ")
        if left in have and right in have and left + right not in have:
            tokens.append(left + right)
            have.add(left + right)
            kept.append(mg)
    tokens.append("<|endoftext|>")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(tokens)}, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for mg in kept:
            f.write(mg + "\n")
    return len(tokens)


def count_tokens(tok_dir):
    for name in ("vocab.json", "encoder.json"):
        p = os.path.join(tok_dir, name)
        if os.path.isfile(p):
            with open(p, encoding="utf-8") as f:
                return len(json.load(f))
    raise SystemExit("make_hf_checkpoint: no vocab.json or encoder.json in %s" % tok_dir)


def write_safetensors(path, tensors, dtype="F32"):
    """Writes a dict name -> float array as .safetensors (8-byte header length, JSON, data)."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    off = 0
    for name, a in tensors.items():
        a = np.asarray(a, dtype=np.float32)
        if dtype == "F32":
            b = a.astype("<f4").tobytes()
        elif dtype == "F16":
            b = a.astype("<f2").tobytes()
        else:  # BF16: round to nearest even on the upper 16 bits
            u = a.astype("<f4").view(np.uint32).astype(np.uint64)
            u = ((u + np.uint64(0x7FFF) + ((u >> np.uint64(16)) & np.uint64(1))) >> np.uint64(16)).astype("<u2")
            b = u.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def make_weights(L, D, C, V, rng, prefix="backbone."):
    F = 4 * D
    g = lambda *s, sc=1.0: (rng.standard_normal(s) * sc).astype(np.float32)  # noqa: E731
    t = {}
    t[prefix + "vocab_embed.embedding"] = g(V, D)
    t[prefix + "sigma_map.mlp.0.weight"] = g(C, 256, sc=0.2)
    t[prefix + "sigma_map.mlp.0.bias"] = g(C, sc=0.5)
    t[prefix + "sigma_map.mlp.2.weight"] = g(C, C, sc=1.0 / np.sqrt(C))
    t[prefix + "sigma_map.mlp.2.bias"] = g(C, sc=0.5)
    for i in range(L):
        p = prefix + "blocks.%d." % i
        t[p + "norm1.weight"] = 1.0 + g(D, sc=0.1)
        t[p + "attn_qkv.weight"] = g(3 * D, D, sc=1.0 / np.sqrt(D))
        t[p + "attn_out.weight"] = g(D, D, sc=1.0 / np.sqrt(D))
        t[p + "norm2.weight"] = 1.0 + g(D, sc=0.1)
        t[p + "mlp.0.weight"] = g(F, D, sc=1.0 / np.sqrt(D))
        t[p + "mlp.0.bias"] = g(F, sc=0.1)
        t[p + "mlp.2.weight"] = g(D, F, sc=1.0 / np.sqrt(F))
        t[p + "mlp.2.bias"] = g(D, sc=0.1)
        t[p + "adaLN_modulation.weight"] = g(6 * D, C, sc=0.3 / np.sqrt(C))
        t[p + "adaLN_modulation.bias"] = g(6 * D, sc=0.2)
    p = prefix + "output_layer."
    t[p + "norm_final.weight"] = 1.0 + g(D, sc=0.1)
    t[p + "linear.weight"] = g(V, D, sc=1.0 / np.sqrt(D))
    t[p + "linear.bias"] = g(V, sc=0.1)
    t[p + "adaLN_modulation.weight"] = g(2 * D, C, sc=0.3 / np.sqrt(C))
    t[p + "adaLN_modulation.bias"] = g(2 * D, sc=0.2)
    t[prefix + "rotary_emb.inv_freq"] = np.zeros(1, np.float32)  # a buffer the converter ignores
    t["sampling_eps_min"] = np.array(1e-3, np.float32)
    t["sampling_eps_max"] = np.array(1.0, np.float32)
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--cond", type=int, default=32)
    ap.add_argument("--ctx", type=int, default=32)
    ap.add_argument("--block-size", type=int, default=4)
    ap.add_argument("--mdlm", action="store_true", help="no block_size in config.json (global only)")
    ap.add_argument("--vocab-from", default=None)
    ap.add_argument("--tokenizer-out", default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prefix", default="backbone.")
    ap.add_argument("--dtype", default="F32", choices=("F32", "F16", "BF16"))
    ap.add_argument("--break", dest="damage", default=None,
                    choices=("wrong_shape", "missing_tensor", "unknown_tensor", "missing_config_key",
                             "bad_config_value"))
    a = ap.parse_args()
    if a.tokenizer_out:
        n_tok = write_small_tokenizer(a.tokenizer_out)
    elif a.vocab_from:
        n_tok = count_tokens(a.vocab_from)
    else:
        n_tok = 299
    V = n_tok + 1
    os.makedirs(a.out_dir, exist_ok=True)
    cfg = {"architectures": ["BD3LM"], "model_type": "mdlm" if a.mdlm else "bd3lm",
           "n_blocks": a.layers, "hidden_dim": a.dim, "n_heads": a.heads, "cond_dim": a.cond,
           "model_length": a.ctx, "vocab_size": V, "adaln": True, "causal": False, "cross_attn": True,
           "dropout": 0.1, "time_conditioning": False, "var_min": True, "torch_dtype": "float32"}
    if not a.mdlm:
        cfg["block_size"] = a.block_size
    if a.damage == "missing_config_key":
        del cfg["n_heads"]
    if a.damage == "bad_config_value":
        cfg["hidden_dim"] = "wide"
    with open(os.path.join(a.out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    rng = np.random.default_rng(a.seed)
    t = make_weights(a.layers, a.dim, a.cond, V, rng, a.prefix)
    last = a.prefix + "blocks.%d." % (a.layers - 1)
    if a.damage == "wrong_shape":  # same bytes, transposed shape
        t[last + "attn_qkv.weight"] = t[last + "attn_qkv.weight"].reshape(a.dim, 3 * a.dim)
    if a.damage == "missing_tensor":
        del t[last + "mlp.2.bias"]
    if a.damage == "unknown_tensor":
        t[a.prefix + "blocks.0.extra_gate.weight"] = np.zeros(a.dim, np.float32)
    write_safetensors(os.path.join(a.out_dir, "model.safetensors"), t, a.dtype)


if __name__ == "__main__":
    main()
