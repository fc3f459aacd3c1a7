# hf_forward.py: float64 numpy forward pass of a BD3-LM/MDLM checkpoint in the Hugging Face layout,
# written from shared/spec/model.md sections 1-2 with the full timestep-conditioning network run at
# t = 0 (no folding), plus the same forward over a converted GGUF file. Test reference; numpy only.
"""usage: hf_forward.py --ref hf:DIR|gguf:FILE --got gguf:FILE|logits:FILE --ids LIST
                     --mode global|block:B [--last N] [--tol T]
--ref  the float64 reference: an HF checkpoint (conditioning network run at t = 0) or a GGUF file
       (its tensors dequantized)
--got  a GGUF file (same float64 forward on its tensors: checks a conversion) or raw little-endian
       float32 logits [rows, V] (checks the engine); --last N compares only the last N rows
LIST is comma-separated ids; the word mask stands for the mask token (vocab size - 1).
Exit status 0 when max |diff| / max |logit| <= T, 1 otherwise; the figures go to stdout.
"""

import json
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "model", "convert"))


def read_safetensors(path):
    """name -> float64 array (independent of the converter's reader)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[8 + n + b:8 + n + e]
        if info["dtype"] == "F32":
            a = np.frombuffer(raw, "<f4")
        elif info["dtype"] == "F16":
            a = np.frombuffer(raw, "<f2")
        elif info["dtype"] == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit("hf_forward: dtype %s" % info["dtype"])
        out[name[len("backbone."):] if name.startswith("backbone.") else name] = \
            a.astype(np.float64).reshape(info["shape"])
    return out


def silu(x):
    return x / (1.0 + np.exp(-x))


def layer_norm(x, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def rope(x, hd, base=10000.0):
    """x [n, H, hd], rotate_half layout, positions 0..n-1, angles in float32 as the spec says."""
    n = x.shape[0]
    inv = (base ** (-(np.arange(0, hd, 2, dtype=np.float64)) / hd)).astype(np.float32)
    ang = (np.arange(n, dtype=np.float32)[:, None] * inv[None, :]).astype(np.float64)
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    h = hd // 2
    x1, x2 = x[..., :h], x[..., h:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def attn_mask(n, block):
    """Boolean [n, n]: query i may see key j."""
    if block <= 0:
        return np.ones((n, n), bool)
    i = np.arange(n)
    return (i[None, :] // block) <= (i[:, None] // block)


def forward(w, ids, block, n_head, mods):
    """Spec section 1. w: dict of float64 arrays in numpy shape with GGUF-style roles;
    mods: (list of [6, D] per layer, [2, D]). Returns logits [n, V] in float64."""
    E = w["embed"]
    h = E[np.asarray(ids)]
    n, D = h.shape
    hd = D // n_head
    mask = attn_mask(n, block)
    for l, lw in enumerate(w["layers"]):
        sh1, sc1, g1, sh2, sc2, g2 = mods[0][l]
        a = layer_norm(h) * lw["attn_norm"] * (1 + sc1) + sh1
        qkv = a @ lw["qkv"].T
        q, k, v = qkv[:, :D], qkv[:, D:2 * D], qkv[:, 2 * D:]
        q = rope(q.reshape(n, n_head, hd), hd)
        k = rope(k.reshape(n, n_head, hd), hd)
        v = v.reshape(n, n_head, hd)
        s = np.einsum("ihd,jhd->hij", q, k) / math.sqrt(hd)
        s = np.where(mask[None], s, -np.inf)
        s = s - s.max(-1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(-1, keepdims=True)
        o = np.einsum("hij,jhd->ihd", p, v).reshape(n, D)
        h = h + g1 * (o @ lw["out"].T)
        a = layer_norm(h) * lw["ffn_norm"] * (1 + sc2) + sh2
        h = h + g2 * (gelu_tanh(a @ lw["up"].T + lw["up_b"]) @ lw["down"].T + lw["down_b"])
    sh, sc = mods[1]
    a = layer_norm(h) * w["out_norm"] * (1 + sc) + sh
    return a @ w["out"].T + w["out_b"]


def hf_model(hf_dir):
    """Weights and t = 0 modulation of an HF checkpoint, the conditioning network run in full."""
    with open(os.path.join(hf_dir, "config.json")) as f:
        cfg = json.load(f)
    t = read_safetensors(os.path.join(hf_dir, "model.safetensors"))
    L = cfg["n_blocks"]
    w = {"embed": t["vocab_embed.embedding"], "out_norm": t["output_layer.norm_final.weight"],
         "out": t["output_layer.linear.weight"], "out_b": t["output_layer.linear.bias"], "layers": []}
    for l in range(L):
        p = "blocks.%d." % l
        w["layers"].append({"attn_norm": t[p + "norm1.weight"], "qkv": t[p + "attn_qkv.weight"],
                            "out": t[p + "attn_out.weight"], "ffn_norm": t[p + "norm2.weight"],
                            "up": t[p + "mlp.0.weight"], "up_b": t[p + "mlp.0.bias"],
                            "down": t[p + "mlp.2.weight"], "down_b": t[p + "mlp.2.bias"]})
    # TimestepEmbedder at t = 0: frequencies exp(-ln(10000) j / half), [cos(t f), sin(t f)]
    nfreq = t["sigma_map.mlp.0.weight"].shape[1]
    half = nfreq // 2
    freqs = np.exp(-math.log(10000.0) * np.arange(half) / half)
    args = 0.0 * freqs
    emb = np.concatenate([np.cos(args), np.sin(args), np.zeros(nfreq % 2)])
    c = t["sigma_map.mlp.2.weight"] @ silu(t["sigma_map.mlp.0.weight"] @ emb + t["sigma_map.mlp.0.bias"]) \
        + t["sigma_map.mlp.2.bias"]
    c = silu(c)
    D = cfg["hidden_dim"]
    mods = [np.split(t["blocks.%d.adaLN_modulation.weight" % l] @ c + t["blocks.%d.adaLN_modulation.bias" % l], 6)
            for l in range(L)]
    out_mod = np.split(t["output_layer.adaLN_modulation.weight"] @ c + t["output_layer.adaLN_modulation.bias"], 2)
    assert all(m.shape == (D,) for m in mods[0])
    return cfg, w, (mods, out_mod)


def gguf_model(path):
    import gguf_writer
    meta, t, _ = gguf_writer.read_gguf(path)
    f = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
    L = meta["bd3lm.block_count"]
    w = {"embed": f(t["token_embd.weight"]), "out_norm": f(t["output_norm.weight"]),
         "out": f(t["output.weight"]), "out_b": f(t["output.bias"]), "layers": []}
    mods = []
    for l in range(L):
        p = "blk.%d." % l
        w["layers"].append({"attn_norm": f(t[p + "attn_norm.weight"]), "qkv": f(t[p + "attn_qkv.weight"]),
                            "out": f(t[p + "attn_output.weight"]), "ffn_norm": f(t[p + "ffn_norm.weight"]),
                            "up": f(t[p + "ffn_up.weight"]), "up_b": f(t[p + "ffn_up.bias"]),
                            "down": f(t[p + "ffn_down.weight"]), "down_b": f(t[p + "ffn_down.bias"])})
        mods.append(list(f(t[p + "modulation"])))
    return meta, w, (mods, list(f(t["output_modulation"])))


def parse_ids(s, mask_id):
    return [mask_id if x.strip() == "mask" else int(x) for x in s.split(",") if x.strip()]


def parse_mode(s):
    if s == "global":
        return 0
    if s.startswith("block:"):
        return int(s[6:])
    raise SystemExit("hf_forward: mode must be global or block:B")


def load(spec):
    """'hf:DIR' or 'gguf:FILE' -> (n_head, weights, modulation, vocab size)."""
    kind, _, path = spec.partition(":")
    if kind == "hf":
        cfg, w, mods = hf_model(path)
        return cfg["n_heads"], w, mods, cfg["vocab_size"]
    if kind == "gguf":
        meta, w, mods = gguf_model(path)
        return meta["bd3lm.attention.head_count"], w, mods, w["out"].shape[0]
    raise SystemExit("hf_forward: expected hf:DIR or gguf:FILE, got %r" % spec)


def main(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True, help="hf:DIR or gguf:FILE: the float64 reference")
    ap.add_argument("--got", required=True, help="gguf:FILE (float64 forward) or logits:FILE (raw f32)")
    ap.add_argument("--ids", required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--last", type=int, default=0, help="compare only the last N rows (streamed logits)")
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args(argv)
    n_head, w, mods, V = load(a.ref)
    ids = parse_ids(a.ids, V - 1)
    block = parse_mode(a.mode)
    ref = forward(w, ids, block, n_head, mods)
    if a.last:
        ref = ref[-a.last:]
    if a.got.startswith("logits:"):
        raw = np.fromfile(a.got[7:], dtype="<f4")
        if raw.size != ref.size:
            print("FAIL: logits file holds %d values, expected %d x %d" % (raw.size, ref.shape[0], V))
            return 1
        got = raw.reshape(ref.shape).astype(np.float64)
    else:
        gh, gw, gmods, _ = load(a.got)
        got = forward(gw, ids, block, gh, gmods)
        if a.last:
            got = got[-a.last:]
    err = float(np.max(np.abs(got - ref)) / np.max(np.abs(ref)))
    ok = err <= a.tol and bool(np.all(np.isfinite(got)))
    print("%s vs %s %s: rows=%d max|logit|=%.3f rel err=%.3g (tol %.3g) %s"
          % (a.got, a.ref, a.mode, ref.shape[0], float(np.max(np.abs(ref))), err, a.tol, "ok" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
