# bd3_ref.py: float64 numpy reference of the bd3lm forward pass (shared/spec/model.md sections 1-2):
# global and block-causal passes, and the KV-cache stream (commit per block, sliding past n_ctx).
# Depends on numpy and model/convert/gguf_writer.py (its reader) only; it never calls the engine.
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "model", "convert"))
import gguf_writer  # noqa: E402


class Bd3Ref:
    """A bd3lm model file held as float64 arrays (weights as the file stores them, dequantized)."""

    def __init__(self, path):
        meta, t, _ = gguf_writer.read_gguf(path)
        self.n_ctx = int(meta["bd3lm.context_length"])
        self.D = int(meta["bd3lm.embedding_length"])
        self.H = int(meta["bd3lm.attention.head_count"])
        self.n_layer = int(meta["bd3lm.block_count"])
        self.eps = float(np.float32(meta.get("bd3lm.attention.layer_norm_epsilon", 1e-5)))
        self.base = float(np.float32(meta.get("bd3lm.rope.freq_base", 10000.0)))
        self.hd = self.D // self.H
        f = {k: v.astype(np.float64) for k, v in t.items()}
        self.E = f["token_embd.weight"]                 # [V, D]
        self.layers = []
        for i in range(self.n_layer):
            p = "blk.%d." % i
            self.layers.append({k: f[p + k] for k in (
                "attn_norm.weight", "attn_qkv.weight", "attn_output.weight", "ffn_norm.weight",
                "ffn_up.weight", "ffn_up.bias", "ffn_down.weight", "ffn_down.bias", "modulation")})
        self.out_norm = f["output_norm.weight"]          # [D]
        self.out_mod = f["output_modulation"]            # [2, D]
        self.W_out = f["output.weight"]                  # [V, D]
        self.b_out = f["output.bias"]                    # [V]
        # RoPE: inv_freq computed in double and rounded to float32 once; angle = float32 product
        hd = self.hd
        inv = (1.0 / np.power(self.base, 2.0 * np.arange(hd // 2) / hd)).astype(np.float32)
        ang = np.arange(self.n_ctx, dtype=np.float32)[:, None] * inv[None, :]
        self.cos = np.cos(ang.astype(np.float64))        # [n_ctx, hd/2]
        self.sin = np.sin(ang.astype(np.float64))

    def norm(self, x, w, shift, scale):
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * w * (1.0 + scale) + shift

    def rope(self, x, pos):
        """x [n, D] (heads of hd side by side), pos [n] window positions."""
        n, hd, half = x.shape[0], self.hd, self.hd // 2
        x = x.reshape(n, self.H, hd)
        c = self.cos[pos][:, None, :]
        s = self.sin[pos][:, None, :]
        a, b = x[..., :half], x[..., half:]
        return np.concatenate([a * c - b * s, b * c + a * s], axis=-1).reshape(n, self.D)

    @staticmethod
    def gelu_tanh(x):
        return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))

    def call(self, ids, cache=None, block_len=0):
        """One model call over ids at window positions m..m+n-1, where m = rows in cache (a list of
        (K_raw [m, D], V [m, D]) per layer, K before RoPE; None = empty). Queries see every cached
        row; among the new rows, block_len 0 = everyone, B > 0 = block-causal by window position.
        Returns (logits [n, V], new rows [(K_raw [n, D], V [n, D])] per layer)."""
        ids = np.asarray(ids, dtype=np.int64)
        n, D, H, hd = len(ids), self.D, self.H, self.hd
        m = 0 if cache is None else cache[0][0].shape[0]
        assert m + n <= self.n_ctx
        qpos = np.arange(m, m + n)
        kpos = np.arange(0, m + n)
        if block_len > 0:
            visible = (kpos[None, :] // block_len) <= (qpos[:, None] // block_len)
        else:
            visible = np.ones((n, m + n), dtype=bool)
        h = self.E[ids]
        new = []
        for li, L in enumerate(self.layers):
            mod = L["modulation"]  # [6, D]
            a = self.norm(h, L["attn_norm.weight"], mod[0], mod[1])
            qkv = a @ L["attn_qkv.weight"].T
            q, k, v = qkv[:, :D], qkv[:, D:2 * D], qkv[:, 2 * D:]
            new.append((k, v))
            if m:
                k = np.concatenate([cache[li][0], k])
                v = np.concatenate([cache[li][1], v])
            q = self.rope(q, qpos)
            k = self.rope(k, kpos)
            o = np.empty((n, D))
            for hh in range(H):
                sl = slice(hh * hd, (hh + 1) * hd)
                s = q[:, sl] @ k[:, sl].T / np.sqrt(hd)
                s = np.where(visible, s, -np.inf)
                s = np.exp(s - s.max(axis=1, keepdims=True))
                s /= s.sum(axis=1, keepdims=True)
                o[:, sl] = s @ v[:, sl]
            h = h + mod[2] * (o @ L["attn_output.weight"].T)
            a = self.norm(h, L["ffn_norm.weight"], mod[3], mod[4])
            f = self.gelu_tanh(a @ L["ffn_up.weight"].T + L["ffn_up.bias"])
            h = h + mod[5] * (f @ L["ffn_down.weight"].T + L["ffn_down.bias"])
        a = self.norm(h, self.out_norm, self.out_mod[0], self.out_mod[1])
        return a @ self.W_out.T + self.b_out, new

    def forward(self, ids, block_len=0):
        """Logits [n, V] of one pass without cache: global (0) or block-causal (B)."""
        return self.call(ids, None, block_len)[0]

    def stream(self, ids, block_len):
        """As the sampler feeds ids: commit every block of block_len except the last one to the
        cache, one block at a time; the cache keeps at most n_ctx - (block size) rows, dropping
        the oldest; then one call for the last (possibly partial) block. Returns its logits."""
        blocks = [ids[i:i + block_len] for i in range(0, len(ids), block_len)]
        cache = None
        for blk in blocks[:-1]:
            _, new = self.call(blk, cache)
            if cache is None:
                cache = new
            else:
                cache = [(np.concatenate([c[0], r[0]]), np.concatenate([c[1], r[1]]))
                         for c, r in zip(cache, new)]
            keep = self.n_ctx - len(blk)
            cache = [(c[0][max(0, len(c[0]) - keep):], c[1][max(0, len(c[1]) - keep):]) for c in cache]
        return self.call(blocks[-1], cache)[0]
