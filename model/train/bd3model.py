# bd3model.py: the bd3lm network of shared/spec/model.md sections 1-2 in PyTorch (learned
# constant modulation, RoPE, block-causal / global / 2L training attention). Depends on torch only;
# runs on torch 1.13 (CPU, plain attention) and uses SDPA / flex attention on torch 2.x.
import contextlib
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

HAVE_SDPA = hasattr(F, "scaled_dot_product_attention")
try:  # torch >= 2.5
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    HAVE_FLEX = True
except ImportError:  # pragma: no cover - older torch
    HAVE_FLEX = False


@dataclass
class Config:
    n_layer: int = 8          # transformer blocks
    n_embd: int = 384         # D
    n_head: int = 6           # H; head size D/H
    n_ff: int = 1536          # F = 4D
    n_ctx: int = 1024         # L, tokens per row / window
    n_vocab: int = 8193       # V, mask token included (mask = last id)
    norm_eps: float = 1e-5    # layer-norm epsilon
    rope_base: float = 10000.0  # RoPE frequency base

    @property
    def mask_id(self):
        return self.n_vocab - 1


DEFAULT = Config()
DEEP16 = Config(n_layer=16)   # DEFAULT grown in depth (grow_depth): 34,692,993 parameters
DEEP24 = Config(n_layer=24)   # DEEP16 grown in depth (grow_depth): 48,888,705 parameters
DEEP32 = Config(n_layer=32)   # DEEP16 grown in depth (grow_depth): 63,084,417 parameters
WIDE8 = Config(n_embd=768, n_head=12, n_ff=3072)  # DEFAULT grown in width (grow_width): 69,297,921 parameters
TOY = Config(n_layer=2, n_embd=64, n_head=4, n_ff=256, n_ctx=64, n_vocab=258)


# ---- attention masks ---------------------------------------------------------------------------
# A mode is ("global",), ("block", B) for a window of any length, or ("2L", B) for the training /
# likelihood input concat(x_t, x_0) of length 2L (spec section 2).

def mask_allows(mode, q, k, L):
    """Elementwise: may query index q attend key index k (integer tensors, broadcastable)."""
    kind = mode[0]
    if kind == "global":
        return torch.ones_like(q + k, dtype=torch.bool)
    B = mode[1]
    if kind == "block":
        return (k // B) <= (q // B)
    qn, kn = q < L, k < L
    bq, bk = (q % L) // B, (k % L) // B
    return (qn & kn & (bq == bk)) | (qn & ~kn & (bk < bq)) | (~qn & ~kn & (bk <= bq))


def dense_mask(mode, T, L, device=None):
    """[T, T] bool, True where a query row may attend a key column."""
    i = torch.arange(T, device=device)
    return mask_allows(mode, i[:, None], i[None, :], L)


def positions(mode, T, L, device=None):
    """Position ids of the T input rows: both halves of a 2L input use 0..L-1."""
    p = torch.arange(T, device=device)
    return p % L if mode[0] == "2L" else p


def flex_block_mask(mode, L, device):
    """BlockMask for flex attention over a 2L (or L) input; shared by every row of a batch."""
    B = mode[1]
    kind = mode[0]

    def mod(b, h, q, k):
        return mask_allows((kind, B), q, k, L)
    T = 2 * L if kind == "2L" else L
    return create_block_mask(mod, None, None, T, T, device=device)


# ---- the network -------------------------------------------------------------------------------

def rope_tables(cfg, pos):
    """cos, sin [T, hd/2] float32 for position ids pos [T]."""
    hd = cfg.n_embd // cfg.n_head
    j = torch.arange(hd // 2, dtype=torch.float32, device=pos.device)
    inv_freq = cfg.rope_base ** (-2.0 * j / hd)
    ang = pos.to(torch.float32)[:, None] * inv_freq[None, :]
    return torch.cos(ang), torch.sin(ang)


def rope(x, cos, sin):
    """x [N, H, T, hd]; rotate_half layout."""
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    c, s = cos.to(x.dtype), sin.to(x.dtype)
    return torch.cat((x1 * c - x2 * s, x2 * c + x1 * s), dim=-1)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, Fd = cfg.n_embd, cfg.n_ff
        self.cfg = cfg
        self.attn_norm = nn.Parameter(torch.ones(D))      # [D]
        self.attn_qkv = nn.Linear(D, 3 * D, bias=False)   # [3D, D]
        self.attn_output = nn.Linear(D, D, bias=False)    # [D, D]
        self.ffn_norm = nn.Parameter(torch.ones(D))       # [D]
        self.ffn_up = nn.Linear(D, Fd)                    # [F, D] + [F]
        self.ffn_down = nn.Linear(Fd, D)                  # [D, F] + [D]
        mod = torch.zeros(6, D)                           # shift1 scale1 gate1 shift2 scale2 gate2
        mod[2] = 1.0
        mod[5] = 1.0
        self.modulation = nn.Parameter(mod)               # [6, D]
        self.dropout = 0.0  # probability of dropping a branch output element while training

    def forward(self, h, cos, sin, attend):
        cfg = self.cfg
        N, T, D = h.shape
        H = cfg.n_head
        hd = D // H
        m = self.modulation
        a = F.layer_norm(h, (D,), self.attn_norm * (1 + m[1]), m[0], cfg.norm_eps)
        qkv = self.attn_qkv(a).view(N, T, 3, H, hd).permute(2, 0, 3, 1, 4)
        q, k, v = rope(qkv[0], cos, sin), rope(qkv[1], cos, sin), qkv[2]
        o = attend(q, k, v).transpose(1, 2).reshape(N, T, D)
        h = h + m[2] * self.drop(self.attn_output(o))
        a = F.layer_norm(h, (D,), self.ffn_norm * (1 + m[4]), m[3], cfg.norm_eps)
        return h + m[5] * self.drop(self.ffn_down(F.gelu(self.ffn_up(a), approximate="tanh")))

    def drop(self, x):
        """Dropout of a branch output before its gate (training only; the identity at p = 0)."""
        return F.dropout(x, self.dropout, True) if self.dropout > 0 and self.training else x


class BD3LM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        D, V = cfg.n_embd, cfg.n_vocab
        self.token_embd = nn.Embedding(V, D)                    # [V, D]
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.output_norm = nn.Parameter(torch.ones(D))          # [D]
        self.output_modulation = nn.Parameter(torch.zeros(2, D))  # shift, scale [2, D]
        self.output = nn.Linear(D, V)                           # [V, D] + [V]
        self.reset_parameters()

    def reset_parameters(self):
        std = 0.02
        nn.init.normal_(self.token_embd.weight, std=std)
        for b in self.blocks:
            nn.init.normal_(b.attn_qkv.weight, std=std)
            nn.init.normal_(b.ffn_up.weight, std=std)
            nn.init.zeros_(b.ffn_up.bias)
            nn.init.normal_(b.attn_output.weight, std=std / math.sqrt(2 * self.cfg.n_layer))
            nn.init.normal_(b.ffn_down.weight, std=std / math.sqrt(2 * self.cfg.n_layer))
            nn.init.zeros_(b.ffn_down.bias)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def forward(self, x, mode, n_out=None, backend="auto", block_mask=None):
        """x [N, T] ids -> logits [N, n_out, V-1] for the first n_out rows (all when None).

        The mask token's logit is left out (SUBS: it can never be predicted), so column i is the
        logit of id i for every i < mask_id. mode: ("global",), ("block", B) or ("2L", B); for
        "2L", T = 2L and L = T/2. backend: "manual" (any torch), "sdpa" (dense bool mask), "flex"
        (block_mask from flex_block_mask), "auto" (flex when a block_mask is given, else SDPA when
        available, else manual)."""
        return self.logits(self.hidden(x, mode, n_out, backend, block_mask))

    def set_dropout(self, p):
        """Dropout probability of every block's attention and MLP outputs while training (0: off).
        A training setting, not part of the network: exported files and loaded models have 0."""
        assert 0.0 <= p < 1.0, p
        for b in self.blocks:
            b.dropout = float(p)

    def rope_for(self, mode, T, device):
        """(cos, sin) [T, hd/2] float32 for an input of T rows in mode."""
        L = T // 2 if mode[0] == "2L" else T
        return rope_tables(self.cfg, positions(mode, T, L, device))

    def logits(self, a):
        """Normalised hidden rows a [..., D] (from hidden) -> logits [..., V-1] (mask id left out)."""
        mid = self.cfg.mask_id
        return F.linear(a, self.output.weight[:mid], self.output.bias[:mid])

    def hidden(self, x, mode, n_out=None, backend="auto", block_mask=None, rope_cs=None):
        """x [N, T] ids -> the output layer's input [N, n_out, D]: the last hidden state after the
        output norm and modulation, for the first n_out rows (all when None). Arguments as
        forward; logits(hidden(...)) == forward(...). rope_cs: the (cos, sin) tables of this
        mode and length (rope_for), computed here when None; a compiled caller passes them in,
        else the compiled kernels recompute cos and sin for every element of q and k."""
        cfg = self.cfg
        N, T = x.shape
        L = T // 2 if mode[0] == "2L" else T
        cos, sin = rope_cs if rope_cs is not None else self.rope_for(mode, T, x.device)
        if backend == "auto":
            backend = "flex" if block_mask is not None else ("sdpa" if HAVE_SDPA else "manual")
        hd = cfg.n_embd // cfg.n_head
        if backend == "flex":
            def attend(q, k, v):
                return flex_attention(q, k, v, block_mask=block_mask)
        elif mode[0] == "global" and backend == "sdpa":
            def attend(q, k, v):
                return F.scaled_dot_product_attention(q, k, v)
        else:
            allow = dense_mask(mode, T, L, x.device)
            if backend == "sdpa":
                def attend(q, k, v):
                    return F.scaled_dot_product_attention(q, k, v, attn_mask=allow)
            else:
                bias = torch.zeros(T, T, device=x.device).masked_fill(~allow, float("-inf"))

                def attend(q, k, v):
                    s = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + bias.to(q.dtype)
                    lowp = s.dtype in (torch.float16, torch.bfloat16)
                    return torch.softmax(s.float() if lowp else s, dim=-1).to(v.dtype) @ v
        h = self.token_embd(x)
        for b in self.blocks:
            h = b(h, cos, sin, attend)
        if n_out is not None:
            h = h[:, :n_out]
        m = self.output_modulation
        return F.layer_norm(h, (cfg.n_embd,), self.output_norm * (1 + m[1]), m[0], cfg.norm_eps)


def grow_depth(src, dst):
    """Copies src into the deeper dst (same D, F, H, V, n_ctx) so that dst computes exactly the
    function of src: src's layer i becomes dst's layer floor(i * m / n) (n, m layer counts), and
    every layer between two of them is a copy of the one before with gate1 = gate2 = 0, which
    makes it the identity (h + 0 * branch). Returns the list of dst indices that are new."""
    n, m = src.cfg.n_layer, dst.cfg.n_layer
    assert m >= n, (n, m)
    for k in ("n_embd", "n_ff", "n_head", "n_vocab", "n_ctx"):
        assert getattr(src.cfg, k) == getattr(dst.cfg, k), k
    place = [i * m // n for i in range(n)]
    new = []
    with torch.no_grad():
        for name in ("token_embd", "output"):
            getattr(dst, name).load_state_dict(getattr(src, name).state_dict())
        dst.output_norm.copy_(src.output_norm)
        dst.output_modulation.copy_(src.output_modulation)
        for j in range(m):
            i = max(k for k in range(n) if place[k] <= j)
            dst.blocks[j].load_state_dict(src.blocks[i].state_dict())
            if j != place[i]:
                dst.blocks[j].modulation[2].zero_()
                dst.blocks[j].modulation[5].zero_()
                new.append(j)
    return new


def _halves(w, noise, gen):
    """w [O, I] -> [O, 2I] = [w/2 + E, w/2 - E], E ~ N(0, (noise * rms(w/2))^2) drawn from gen
    (float64 on the CPU, then cast), so [w/2 + E, w/2 - E] @ [x, x] = w @ x for every E."""
    half = w.detach().double().cpu() / 2
    rms = half.pow(2).mean().sqrt().item()
    ref = rms if rms > 0 else 0.01  # an all-zero matrix (the output layer at init): half the init std
    e = torch.randn(half.shape, generator=gen, dtype=torch.float64) * (noise * ref)
    return torch.cat((half + e, half - e), dim=1).to(w.dtype)


def grow_width(src, dst, noise=1e-2, seed=0):
    """Copies src into dst of twice the width (n_embd 2D, n_head 2H, n_ff 2F; same head size,
    n_layer, n_vocab, n_ctx) so that dst computes the function of src. dst's residual stream is
    [h, h], every unit of src's duplicated: a layer norm over [h, h] sees the mean and the
    (biased) variance of h, so with its weight and the modulation rows duplicated it yields
    [a, a]. Tensor by tensor:

    * token_embd [V, 2D] = [E, E]; attn_norm, ffn_norm, output_norm, every modulation row,
      ffn_up.bias, ffn_down.bias duplicated ([b, b]).
    * A linear layer whose input is duplicated gets, for each copy r of its output rows, the
      input-side halves [W/2 + E_r, W/2 - E_r]: (W/2 + E_r) x + (W/2 - E_r) x = W x.
    * attn_qkv [6D, 2D]: output rows in the layout (3, 2H, hd); q', k' and v' each hold heads
      0..H-1 (copy 0) then the same heads again (copy 1), so every head of dst computes a head
      of src (same hd, same 1/sqrt(hd), same RoPE) and the attention output is [o, o].
    * attn_output [2D, 2D], ffn_up [2F, 2D], ffn_down [2D, 2F]: two copies of the output rows,
      so their outputs are [Wo o, Wo o], [u, u] (GELU acts per unit: [g, g]), [d, d]; the gated
      residual updates keep the stream [h, h].
    * output [V, 2D] = [W/2 + E, W/2 - E] (one copy), bias unchanged: logits = W a + b.

    Symmetry. With E = 0 swapping the two halves of every tensor (units i and i + D of the
    stream, heads h and h + H, hidden units j and j + F) maps dst to itself, so the loss is
    invariant under the swap, the gradient at a swap-invariant point is swap-invariant, and an
    elementwise optimiser (AdamW) keeps the point invariant: the two copies stay equal forever
    and dst never uses its extra width. With E != 0 the function is still exact, but the
    gradient reaching the two input copies of a layer differs: for the output layer,
    dL/da_1 - dL/da_2 = 2 E^T dL/dlogits; inside the network the same holds for each of the
    two output copies' E_r (drawn separately, so the two copies' rows differ from the start
    as well). The copies then drift apart from the first steps on.

    Scale: each E has standard deviation noise * rms(W/2) of its own matrix (default 1e-2),
    from a torch.Generator seeded with seed. Relative to the shared part the gradient
    difference is about 2 * noise (2%), five orders above float32 rounding, so it is not lost
    in rounding; once the stream's halves differ by d, the function gains E (x_1 - x_2)-like
    terms, second order in (noise, d), so the exact start is not traded for a large jump. In
    float32 the sums (W/2 + E) x + (W/2 - E) x have terms of about the size of src's, and dst
    matches src to float32 rounding (test_train.py, Growth). Returns the number of matrices
    that got noise (0 when noise == 0)."""
    s, d = src.cfg, dst.cfg
    D, H, Fd = s.n_embd, s.n_head, s.n_ff
    assert (d.n_embd, d.n_head, d.n_ff) == (2 * D, 2 * H, 2 * Fd), (s, d)
    for k in ("n_layer", "n_vocab", "n_ctx", "norm_eps", "rope_base"):
        assert getattr(s, k) == getattr(d, k), k
    gen = torch.Generator().manual_seed(seed)
    hd = D // H
    n = 0

    def dup(t, dim=-1):
        return torch.cat((t, t), dim=dim)

    def put(p, v):
        p.copy_(v.to(device=p.device, dtype=p.dtype))

    with torch.no_grad():
        put(dst.token_embd.weight, dup(src.token_embd.weight))
        put(dst.output_norm, dup(src.output_norm))
        put(dst.output_modulation, dup(src.output_modulation))
        put(dst.output.weight, _halves(src.output.weight, noise, gen))
        put(dst.output.bias, src.output.bias)
        n += 1
        for a, b in zip(src.blocks, dst.blocks):
            put(b.attn_norm, dup(a.attn_norm))
            put(b.ffn_norm, dup(a.ffn_norm))
            put(b.modulation, dup(a.modulation))
            qkv = [_halves(a.attn_qkv.weight, noise, gen).view(3, H, hd, 2 * D) for _ in range(2)]
            put(b.attn_qkv.weight, torch.cat(qkv, dim=1).reshape(6 * D, 2 * D))
            for name in ("attn_output", "ffn_up", "ffn_down"):
                la, lb = getattr(a, name), getattr(b, name)
                put(lb.weight, torch.cat([_halves(la.weight, noise, gen) for _ in range(2)], dim=0))
                if la.bias is not None:
                    put(lb.bias, dup(la.bias, 0))
            n += 4
    return n if noise else 0


def amp(enabled):
    """bf16 autocast on CUDA when enabled, else a no-op context (CPU, torch 1.13)."""
    return torch.autocast("cuda", dtype=torch.bfloat16) if enabled else contextlib.nullcontext()


def n_params(model):
    return sum(p.numel() for p in model.parameters())
