#!/usr/bin/env python3
# qwen_ref.py: float64 numpy forward pass of a Qwen2/Qwen2.5/Qwen3 diffusion checkpoint (SDAR,
# Fast-dLLM v2, Dream) in its published layout, written from the published modeling code
# (RMSNorm, GQA with optional QKV bias and per-head q/k RMSNorm before RoPE, SwiGLU, tied or
# untied head), and the same forward over a converted GGUF file. Test reference; numpy only.
"""usage: qwen_ref.py --ref hf:DIR|gguf:FILE --got gguf:FILE|logits:FILE --ids LIST
                    --mode global|block:B [--tol T] [--shift] [--last N]
--ref  float64 reference from an HF checkpoint (config.json, safetensors or shards) or a GGUF file
--got  a GGUF file (the same float64 forward over its tensors: checks a conversion) or raw
       little-endian float32 logits [rows, V] (checks the engine)
LIST is comma-separated ids; the word mask stands for the mask token id of config/metadata.
The logits compared are each row's raw output, or with --shift each position's (row i - 1's
output; row 0 its own), as the engine gives them for a model with a logit shift. Exit status 0 when
max |diff| / max |logit| <= T, 1 otherwise; the figures go to stdout.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "model", "convert"))


def read_safetensors(path):
    """name -> float64 array; BF16, F16 and F32 (independent of the converter's reader)."""
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
        if info["dtype"] == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] == "F16":
            a = np.frombuffer(raw, "<f2")
        else:
            a = np.frombuffer(raw, "<f4")
        out[name] = a.astype(np.float64).reshape(info["shape"])
    return out


def load_hf(d):
    """(hyperparameters, weights in the published names) of an HF folder."""
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    w = {}
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    for fn in files:
        w.update(read_safetensors(os.path.join(d, fn)))
    H = cfg["num_attention_heads"]
    hp = {"L": cfg["num_hidden_layers"], "H": H, "Hkv": cfg.get("num_key_value_heads", H),
          "hd": cfg.get("head_dim") or cfg["hidden_size"] // H, "eps": cfg.get("rms_norm_eps", 1e-6),
          "theta": cfg.get("rope_theta", 10000.0), "mask_id": cfg.get("mask_token_id")}
    if hp["mask_id"] is None:  # Fast-dLLM v2: the <|MASK|> added token
        with open(os.path.join(d, "tokenizer.json"), encoding="utf-8") as f:
            hp["mask_id"] = [t["id"] for t in json.load(f)["added_tokens"] if t["content"] == "<|MASK|>"][0]
    if cfg.get("tie_word_embeddings") or "lm_head.weight" not in w:
        w["lm_head.weight"] = w["model.embed_tokens.weight"]
    return hp, w


GGUF_TO_HF = {
    "attn_norm.weight": "input_layernorm.weight", "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight", "attn_v.weight": "self_attn.v_proj.weight",
    "attn_q.bias": "self_attn.q_proj.bias", "attn_k.bias": "self_attn.k_proj.bias",
    "attn_v.bias": "self_attn.v_proj.bias", "attn_q_norm.weight": "self_attn.q_norm.weight",
    "attn_k_norm.weight": "self_attn.k_norm.weight", "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight", "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight", "ffn_down.weight": "mlp.down_proj.weight",
}


def load_gguf(path):
    """The same, from a bd3lm GGUF file with the prenorm backbone (tensors dequantized)."""
    import gguf_writer
    meta, tensors, _ = gguf_writer.read_gguf(path)
    assert meta.get("bd3lm.backbone") == "prenorm", "%s: not a prenorm file" % path
    H = meta["bd3lm.attention.head_count"]
    hp = {"L": meta["bd3lm.block_count"], "H": H, "Hkv": meta.get("bd3lm.attention.head_count_kv", H),
          "hd": meta.get("bd3lm.attention.key_length", meta["bd3lm.embedding_length"] // H),
          "eps": meta["bd3lm.attention.layer_norm_rms_epsilon"], "theta": meta["bd3lm.rope.freq_base"],
          "mask_id": meta["bd3lm.diffusion.mask_token_id"]}
    w = {"model.embed_tokens.weight": tensors["token_embd.weight"].astype(np.float64),
         "model.norm.weight": tensors["output_norm.weight"].astype(np.float64)}
    w["lm_head.weight"] = tensors.get("output.weight", tensors["token_embd.weight"]).astype(np.float64)
    for name, a in tensors.items():
        if name.startswith("blk."):
            _, i, rest = name.split(".", 2)
            w["model.layers.%s.%s" % (i, GGUF_TO_HF[rest])] = a.astype(np.float64)
    return hp, w


def rms(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def rope(x, pos, theta):
    """x [n, heads, hd] rotated at positions pos, rotate_half layout; angles in float32 as the
    published code computes them."""
    hd = x.shape[-1]
    inv = (1.0 / (np.float32(theta) ** (np.arange(0, hd, 2, dtype=np.int64).astype(np.float32) / np.float32(hd)))).astype(np.float32)
    ang = (pos.astype(np.float32)[:, None] * inv[None, :]).astype(np.float32)
    cos = np.cos(ang.astype(np.float64))[:, None, :]
    sin = np.sin(ang.astype(np.float64))[:, None, :]
    a, b = x[..., :hd // 2], x[..., hd // 2:]
    return np.concatenate([a * cos - b * sin, b * cos + a * sin], axis=-1)


def forward(hp, w, ids, block):
    """Logits [n, V] (float64) of ids at positions 0..n-1; block 0 = global, else block-causal."""
    n = len(ids)
    L, H, K, hd, eps = hp["L"], hp["H"], hp["Hkv"], hp["hd"], hp["eps"]
    pos = np.arange(n)
    if block:
        allowed = (pos[None, :] // block) <= (pos[:, None] // block)
    else:
        allowed = np.ones((n, n), dtype=bool)
    h = w["model.embed_tokens.weight"][ids]
    for i in range(L):
        p = "model.layers.%d." % i
        a = rms(h, w[p + "input_layernorm.weight"], eps)

        def proj(name, heads):
            y = a @ w[p + "self_attn.%s_proj.weight" % name].T
            if p + "self_attn.%s_proj.bias" % name in w:
                y = y + w[p + "self_attn.%s_proj.bias" % name]
            return y.reshape(n, heads, hd)

        q, k, v = proj("q", H), proj("k", K), proj("v", K)
        if p + "self_attn.q_norm.weight" in w:
            q = rms(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rms(k, w[p + "self_attn.k_norm.weight"], eps)
        q, k = rope(q, pos, hp["theta"]), rope(k, pos, hp["theta"])
        o = np.zeros((n, H, hd))
        for hh in range(H):
            g = hh // (H // K)
            s = q[:, hh] @ k[:, g].T / np.sqrt(hd)
            s = np.where(allowed, s, -np.inf)
            s = np.exp(s - s.max(axis=1, keepdims=True))
            s /= s.sum(axis=1, keepdims=True)
            o[:, hh] = s @ v[:, g]
        h = h + o.reshape(n, H * hd) @ w[p + "self_attn.o_proj.weight"].T
        a = rms(h, w[p + "post_attention_layernorm.weight"], eps)
        gate = a @ w[p + "mlp.gate_proj.weight"].T
        up = a @ w[p + "mlp.up_proj.weight"].T
        h = h + (gate / (1 + np.exp(-gate)) * up) @ w[p + "mlp.down_proj.weight"].T
    return rms(h, w["model.norm.weight"], eps) @ w["lm_head.weight"].T


def load(spec):
    kind, path = spec.split(":", 1)
    return load_hf(path) if kind == "hf" else load_gguf(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True)
    ap.add_argument("--got", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--shift", action="store_true",
                    help="logit shift: row i of the output is row i - 1 of the model (row 0 its own)")
    ap.add_argument("--last", type=int, default=0, help="compare only the last N rows (streamed logits)")
    a = ap.parse_args()
    hp, w = load(a.ref)
    ids = [hp["mask_id"] if x == "mask" else int(x) for x in a.ids.split(",")]
    block = 0 if a.mode == "global" else int(a.mode.split(":")[1])
    ref = forward(hp, w, np.array(ids), block)
    if a.shift:
        ref = np.concatenate([ref[:1], ref[:-1]], axis=0)
    if a.last:
        ref = ref[-a.last:]
    if a.got.startswith("logits:"):
        raw = np.fromfile(a.got[7:], dtype="<f4")
        if raw.size != ref.size:
            print("FAIL: logits file holds %d values, expected %d x %d" % (raw.size, ref.shape[0], ref.shape[1]))
            return 1
        got = raw.reshape(ref.shape).astype(np.float64)
    else:
        ghp, gw = load(a.got)
        got = forward(ghp, gw, np.array(ids), block)
        if a.shift:
            got = np.concatenate([got[:1], got[:-1]], axis=0)
        if a.last:
            got = got[-a.last:]
    err = np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-30)
    ok = err <= a.tol
    print("%s: %s vs %s, %s, %d ids: max |diff| / max |logit| = %.3g (tolerance %.3g)"
          % ("ok" if ok else "FAIL", a.got, a.ref, a.mode, len(ids), err, a.tol))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
