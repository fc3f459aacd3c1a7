# train.py: trains the default bd3lm model (BD3-LM objective, 2L training mask, mixed block
# lengths, clipped antithetic noise, EMA), evaluates it and exports GGUF. Depends on torch, numpy,
# the modules beside it, and HF `tokenizers` only for the BPE tokenizer (not for the toy config).
"""Subcommands:
  tokenizer --corpus DIR --out tokenizer.json            train the 8192-id byte-level BPE
  prepare   --tokenizer T --corpus DIR --out DATA         tokenize train/valid into DATA/*.bin
  train     --data DATA --work WORK [options]             train (resumes WORK/ckpt.pt if present)
  evaluate  --data DATA --gguf FILE | --ckpt FILE          NELBO table (B=4, B=16, global)
  export    --ckpt FILE --tokenizer T --out FILE.gguf      GGUF (Q8_0 large matrices) of the EMA
  compare   --data DATA --gguf A --gguf B [...]           bits per byte of models on the same masks
  grow      --gguf SRC --config C --out FILE.gguf         SRC grown in depth or width to C (GGUF, same tokenizer)
  bench     [--config C]                                  (CUDA) matrix rate and output-layer timings
T is a tokenizer JSON, or "bytes" for the 256-byte vocabulary of the toy configuration."""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bd3model  # noqa: E402
import data  # noqa: E402
import evaluate  # noqa: E402
import export  # noqa: E402

CONFIGS = {"default": bd3model.DEFAULT,  # 8 x 384, 20,497,281 parameters (the first default model)
           "deep16": bd3model.DEEP16,    # 16 x 384, 34,692,993 (default grown in depth; the shipped model)
           "deep24": bd3model.DEEP24,    # 24 x 384, 48,888,705 (deep16 grown in depth)
           "deep32": bd3model.DEEP32,    # 32 x 384, 63,084,417 (deep16 grown in depth)
           "wide8": bd3model.WIDE8,      # 8 x 768, 12 heads, F 3072, 69,297,921 (default grown in width)
           "toy": bd3model.TOY}


WTYPE_HELP = "storage of the large matrices: f32, f16, bf16, q8_0, q4_0 or a mixed layout such as q8_0,ffn_=q4_0"


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def parse_groups(mix, clip, n_ctx):
    """'4:24,16:36,g:36' and '4:0.45:0.95,...' -> [(B, rows, beta, omega)]; 'g' = global (n_ctx)."""
    def blen(s):
        return n_ctx if s in ("g", "global") else int(s)
    clips = {}
    for part in clip.split(","):
        b, lo, hi = part.split(":")
        clips[blen(b)] = (float(lo), float(hi))
    groups = []
    for part in mix.split(","):
        b, n = part.split(":")
        B = blen(b)
        assert n_ctx % B == 0, "block length %d does not divide n_ctx %d" % (B, n_ctx)
        lo, hi = clips.get(B, (1e-3, 1.0))
        groups.append((B, int(n), lo, hi))
    return groups


# ---- objective ------------------------------------------------------------------------------

def noisy_batch(x0, B, beta, omega, mask_id):
    """Masks x0 [n, L]: t_b ~ U[beta, omega] per block (antithetic over the batch's blocks), each
    token masked with probability t_b, position 0 never. Returns (x_t, weights = masked / t)."""
    n, L = x0.shape
    nb = L // B
    M = n * nb
    dev = x0.device
    s = (torch.rand(1, device=dev) + torch.arange(M, device=dev)) / M % 1.0
    t = beta + (omega - beta) * s[torch.randperm(M, device=dev)]
    t = t.view(n, nb).repeat_interleave(B, dim=1)
    masked = torch.rand(n, L, device=dev) < t
    masked[:, 0] = False
    xt = torch.where(masked, torch.full_like(x0, mask_id), x0)
    return xt, masked.float() / t


def upcast(x):
    """bf16 / f16 / f32 logits -> float32 for the softmax; float64 stays float64 (tests)."""
    return x if x.dtype == torch.float64 else x.float()


def group_loss(model, xt, x0, w, B, block_mask):
    """Sum over masked tokens of -log p(x0) / t (the BD3-LM / MDLM NELBO estimate), with logits
    at every position of the noisy half (the reference the masked head is tested against)."""
    n, L = x0.shape
    if B == L:
        logits = model(xt, ("global",))
    else:
        logits = model(torch.cat([xt, x0], dim=1), ("2L", B), n_out=L, block_mask=block_mask)
    ce = F.cross_entropy(upcast(logits.reshape(n * L, -1)), x0.reshape(-1), reduction="none")
    return (ce * w.reshape(-1)).sum()


def trunk(model, xt, x0, B, block_mask, rope_cs=None):
    """The output layer's input [n, L, D] at the noisy half: global rows alone, others as 2L.
    rope_cs: model.rope_for of the group's mode (computed when None)."""
    L = x0.shape[1]
    if B == L:
        return model.hidden(xt, ("global",), rope_cs=rope_cs)
    return model.hidden(torch.cat([xt, x0], dim=1), ("2L", B), n_out=L, block_mask=block_mask, rope_cs=rope_cs)


class LinearCE(torch.autograd.Function):
    """sum_k w_k * cross_entropy(a_k W^T + b, y_k) over rows a [K, D], computed `chunk` rows at a
    time; the forward also forms the gradients (softmax - onehot), so no [K, V] logits outlive a
    chunk. Matrix products in bf16 on CUDA (as under autocast), in a's dtype elsewhere."""

    @staticmethod
    def forward(ctx, a, weight, bias, y, w, chunk):
        mm = torch.bfloat16 if a.is_cuda else a.dtype
        acc = torch.float32 if a.is_cuda else a.dtype
        wm = weight.to(mm)
        ga = torch.empty_like(a)
        gw = torch.zeros(weight.shape, dtype=acc, device=a.device)
        gb = torch.zeros(bias.shape, dtype=acc, device=a.device)
        total = torch.zeros((), dtype=acc, device=a.device)
        for s in range(0, a.shape[0], chunk):
            ac = a[s:s + chunk].to(mm)
            yc = y[s:s + chunk]
            wc = w[s:s + chunk].to(acc)
            z = (ac @ wm.t()).to(acc) + bias.to(acc)
            lse = torch.logsumexp(z, dim=-1)
            total += ((lse - z.gather(1, yc[:, None]).squeeze(1)) * wc).sum()
            g = torch.exp(z - lse[:, None])
            g.scatter_add_(1, yc[:, None], -torch.ones_like(lse)[:, None])
            g *= wc[:, None]
            gb += g.sum(dim=0)
            gm = g.to(mm)
            ga[s:s + chunk] = (gm @ wm).to(a.dtype)
            gw += (gm.t() @ ac).to(acc)
        ctx.save_for_backward(ga, gw, gb)
        ctx.dtypes = (weight.dtype, bias.dtype)
        return total

    @staticmethod
    def backward(ctx, go):
        ga, gw, gb = ctx.saved_tensors
        return (ga * go.to(ga.dtype), (gw * go).to(ctx.dtypes[0]), (gb * go).to(ctx.dtypes[1]),
                None, None, None)


def masked_loss(model, a, x0, w, head="masked", chunk=8192):
    """The loss of group_loss from the output layer's input a [n, L, D], with logits only at the
    masked positions (w > 0). Returns (loss, number of masked rows)."""
    D = a.shape[-1]
    wf = w.reshape(-1)
    idx = torch.nonzero(wf).squeeze(1)
    rows = a.reshape(-1, D).index_select(0, idx)
    y = x0.reshape(-1).index_select(0, idx)
    ww = wf.index_select(0, idx)
    mid = model.cfg.mask_id
    if head == "fused":
        return LinearCE.apply(rows, model.output.weight[:mid], model.output.bias[:mid], y, ww, chunk), len(idx)
    ce = F.cross_entropy(upcast(model.logits(rows)), y, reduction="none")
    return (ce * ww).sum(), len(idx)


def mask_capacity(n, L, B, beta, omega, sigmas=8.0):
    """Rows that hold every masked token of a noisy_batch group of n rows of L (block length B,
    t in [beta, omega]) except with probability about that of a `sigmas`-sigma event: the
    antithetic grid's mean t is below beta + (omega - beta) (M + 1) / 2M for M blocks, and the
    count's Bernoulli spread is at most sqrt(N / 4) for the N = n (L - 1) maskable tokens."""
    M = n * (L // B)
    N = n * (L - 1)
    pmax = beta + (omega - beta) * (M + 1) / (2.0 * M)
    return min(n * L, int(math.ceil(N * pmax + sigmas * math.sqrt(N / 4.0))) + 1)


def static_loss(model, xt, x0, w, B, block_mask, rope_cs, cap):
    """group_loss with logits at a fixed number `cap` of rows (mask_capacity): the masked rows
    first, then unmasked ones of weight 0; every shape is static, so the whole group compiles as
    one graph and the step needs no host synchronisation. Returns (loss, masked rows left out:
    0 unless cap was too small)."""
    a = trunk(model, xt, x0, B, block_mask, rope_cs)
    wf = w.reshape(-1)
    idx = torch.sort((wf == 0).to(torch.int8), stable=True).indices[:cap]
    rows = a.reshape(-1, a.shape[-1]).index_select(0, idx)
    ww = wf.index_select(0, idx)
    ce = F.cross_entropy(upcast(model.logits(rows)), x0.reshape(-1).index_select(0, idx), reduction="none")
    return (ce * ww).sum(), (wf > 0).sum() - (ww > 0).sum()


def attention_pairs(B, L):
    """Query-key pairs a group's row attends (global: L*L; 2L input: every allowed pair of the
    training mask, which is L*(L+B))."""
    if B == L:
        return L * L
    return int(bd3model.dense_mask(("2L", B), 2 * L, L).sum())


def group_flops(cfg, B, n, k_rows, pairs):
    """Training FLOPs (forward + backward) of one group of n rows with k_rows masked rows sent to
    the output layer: 6 * parameters * rows for every matrix product over the rows actually
    computed (2L rows: 2L positions), plus attention (4 D per allowed pair and layer forward,
    3x that with backward). Layer norms, GELU and the embedding lookup are not counted."""
    D, Fd, L = cfg.n_embd, cfg.n_ff, cfg.n_ctx
    T = L if B == L else 2 * L
    body = cfg.n_layer * (4 * D * D + 2 * D * Fd)
    return 6 * body * n * T + 6 * D * (cfg.n_vocab - 1) * k_rows + 12 * D * cfg.n_layer * n * pairs


# ---- helpers ----------------------------------------------------------------------------------

def lr_at(p, lr, warmup, min_frac):
    """Linear warmup over the first `warmup` fraction of the run, cosine decay to min_frac * lr."""
    if p < warmup:
        return lr * p / warmup
    q = min(1.0, (p - warmup) / max(1e-9, 1.0 - warmup))
    return lr * (min_frac + (1.0 - min_frac) * 0.5 * (1.0 + math.cos(math.pi * q)))


def make_optimizer(model, lr, wd, fused):
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "modulation" not in n]
    other = [p for n, p in model.named_parameters() if not (p.dim() == 2 and "modulation" not in n)]
    groups = [{"params": decay, "weight_decay": wd}, {"params": other, "weight_decay": 0.0}]
    kw = {"fused": True} if fused else {}
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8, **kw)


def ema_update(ema, params, decay):
    if hasattr(torch, "_foreach_lerp_"):
        torch._foreach_lerp_(ema, params, 1.0 - decay)
    else:
        for e, p in zip(ema, params):
            e.mul_(decay).add_(p.detach(), alpha=1.0 - decay)


def read_budget(work, budget):
    """The time budget, replaced by the number in WORK/budget_s when that file exists (lets a
    running job be fitted to the time its machine has left)."""
    try:
        with open(os.path.join(work, "budget_s")) as f:
            b = float(f.read().strip())
    except (OSError, ValueError):
        return budget
    if budget and b != budget:
        log("budget changed from %.0f s to %.0f s" % (budget, b))
        return b
    return budget


def torch_load(path, dev):
    try:
        return torch.load(path, map_location=dev, weights_only=False)
    except TypeError:  # torch without weights_only
        return torch.load(path, map_location=dev)


def load_valid(data_dir, n_ctx, max_rows=None):
    out = {}
    for f in sorted(os.listdir(data_dir)):
        if f.endswith(".valid.bin"):
            out[f[:-len(".valid.bin")]] = evaluate.rows_of(data.load_tokens(os.path.join(data_dir, f)),
                                                           n_ctx, max_rows)
    return out


def train_sample(ids, n_ctx, n_rows):
    """n_rows rows of n_ctx from the training stream ids, spread evenly over it (fixed positions,
    so every run and model sees the same ones): held-out rows against these show how much of a
    gain is the training text's own."""
    n = min(n_rows, len(ids) // n_ctx)
    if n <= 0:
        return torch.zeros((0, n_ctx), dtype=torch.int64)
    offs = [i * ((len(ids) - n_ctx) // n) for i in range(n)]
    return torch.from_numpy(np.stack([np.asarray(ids[o:o + n_ctx], dtype=np.int64) for o in offs]))


def eval_table(model, valid, n_ctx, seed, passes, device, autocast, blocks=(4, 16, None), batch=16):
    """{file: {"B=4": (ppl, se), ...}} at the given block lengths (None = global)."""
    table = {}
    for name, rows in valid.items():
        r = {}
        for B in blocks:
            Bv = n_ctx if B is None else B
            if n_ctx % Bv:
                continue
            ppl, se, _ = evaluate.nelbo_ppl(model, rows, Bv, seed, passes, batch=batch,
                                            device=device, autocast=autocast)
            r["global" if B is None else "B=%d" % B] = (ppl, se)
        table[name] = r
    return table


def fmt_table(table):
    lines = []
    for name, r in table.items():
        lines.append("%-20s " % name + "  ".join("%s %.2f±%.2f" % (k, v[0], v[1]) for k, v in r.items()))
    return "\n".join(lines)


# ---- subcommands ------------------------------------------------------------------------------

def cmd_tokenizer(a):
    t0 = time.time()
    files = data.corpus_files(a.corpus, "train")
    tok = data.train_bpe(files, a.vocab, a.out)
    log("tokenizer: %d ids, %d merges, eos id %d, %.1f s" % (len(tok.tokens), len(tok.merges),
                                                            tok.eos_id, time.time() - t0))


def cmd_prepare(a):
    t0 = time.time()
    tok = data.load_tokenizer(a.tokenizer)
    counts = data.prepare(tok, a.corpus, a.out, a.max_bytes, log=log)
    log("prepared %s in %.1f s" % (counts, time.time() - t0))


def build_model(cfg_name, device):
    cfg = CONFIGS[cfg_name]
    return bd3model.BD3LM(cfg).to(device)


def init_from(model, src, noise=1e-2, seed=0):
    """Copies the weights of src (a BD3LM) into model, choosing by shape: the same shape loads
    them; fewer layers of the same width grows in depth (bd3model.grow_depth); half the width
    (n_embd, n_head, n_ff) with the same layers grows in width (bd3model.grow_width, with
    noise and seed). Either way model computes src's function. Returns a line for the log;
    raises ValueError for any other pair of shapes."""
    s, d = src.cfg, model.cfg

    def shape(c):
        return "%d layers x %d (%d heads, F %d, n_ctx %d, V %d)" % (c.n_layer, c.n_embd, c.n_head, c.n_ff,
                                                                    c.n_ctx, c.n_vocab)
    same = ("n_vocab", "n_ctx", "norm_eps", "rope_base")
    if any(getattr(s, k) != getattr(d, k) for k in same):
        raise ValueError("cannot start %s from %s: n_ctx, vocabulary, epsilon and RoPE base must match"
                         % (shape(d), shape(s)))
    width = (s.n_embd, s.n_head, s.n_ff)
    if width == (d.n_embd, d.n_head, d.n_ff) and s.n_layer == d.n_layer:
        model.load_state_dict(src.state_dict())
        return "loaded (same shape)"
    if width == (d.n_embd, d.n_head, d.n_ff) and s.n_layer < d.n_layer:
        new = bd3model.grow_depth(src, model)
        return "grown from %d to %d layers (new, identity at start: %s)" % (s.n_layer, d.n_layer, new)
    if tuple(2 * v for v in width) == (d.n_embd, d.n_head, d.n_ff) and s.n_layer == d.n_layer:
        n = bd3model.grow_width(src, model, noise=noise, seed=seed)
        return "grown in width from %d to %d (%d to %d heads, F %d to %d; noise %g on %d matrices, seed %d)" % (
            s.n_embd, d.n_embd, s.n_head, d.n_head, s.n_ff, d.n_ff, noise, n, seed)
    raise ValueError("cannot start %s from %s: the shapes allow loading (same shape), growth in depth "
                     "(fewer layers, same width) or growth in width (half n_embd, n_head and n_ff, same "
                     "layers), nothing else" % (shape(d), shape(s)))


def cmd_train(a):
    torch.manual_seed(a.seed)
    dev = torch.device(a.device if a.device else ("cuda" if torch.cuda.is_available() else "cpu"))
    cuda = dev.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    model = build_model(a.config, dev)
    cfg = model.cfg
    L = cfg.n_ctx
    groups = parse_groups(a.mix, a.clip, L)
    rows_per_step = sum(g[1] for g in groups)
    os.makedirs(a.work, exist_ok=True)
    with open(os.path.join(a.work, "pid"), "w") as f:
        f.write("%d\n" % os.getpid())
    train_np = data.load_tokens(os.path.join(a.data, "train.bin"))
    train_ids = torch.from_numpy(train_np.astype(np.int64)).to(dev)
    valid_quick = load_valid(a.data, L, a.quick_rows)
    train_quick = train_sample(train_np, L, a.quick_rows) if a.quick_rows else None
    del train_np
    log("config %s: %d params, %d train tokens, groups (B, rows, beta, omega) %s, device %s, torch %s"
        % (a.config, bd3model.n_params(model), len(train_ids), groups, dev, torch.__version__))

    params = [p for p in model.parameters()]
    opt = make_optimizer(model, a.lr, a.wd, fused=cuda)
    ema = [p.detach().clone().float() for p in params]
    state = {"step": 0, "elapsed": 0.0, "tokens": 0, "curve": []}
    ckpt_path = os.path.join(a.work, "ckpt.pt")
    if os.path.exists(ckpt_path):
        ck = torch_load(ckpt_path, dev)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        for e, s in zip(ema, ck["ema"]):
            e.copy_(s)
        state = ck["state"]
        log("resumed %s at step %d, %.0f s, %d tokens" % (ckpt_path, state["step"], state["elapsed"],
                                                          state["tokens"]))
    elif a.init_gguf:
        src = export.load_gguf_model(a.init_gguf)
        try:
            how = init_from(model, src.to(dev), a.grow_noise, a.seed)
        except ValueError as e:
            raise SystemExit("--init-gguf %s, --config %s: %s" % (a.init_gguf, a.config, e))
        log("initialised from %s: %s" % (a.init_gguf, how))
        for e, p in zip(ema, params):
            e.copy_(p.detach())

    model.set_dropout(a.dropout)
    eval_model = bd3model.BD3LM(cfg).to(dev).eval()

    def load_eval(weights):
        with torch.no_grad():
            for q, w in zip(eval_model.parameters(), weights):
                q.copy_(w)

    block_masks = {}
    use_flex = cuda and bd3model.HAVE_FLEX and not a.no_flex
    for B, _, _, _ in groups:
        if B < L and use_flex:
            block_masks[B] = bd3model.flex_block_mask(("2L", B), L, dev)
    pairs = {B: attention_pairs(B, L) for B, _, _, _ in groups}
    rope_cs = {B: model.rope_for(("global",), L, dev) if B == L else model.rope_for(("2L", B), 2 * L, dev)
               for B, _, _, _ in groups}
    caps = {B: mask_capacity(n, L, B, beta, omega) for B, n, beta, omega in groups}
    left_out = torch.zeros((), dtype=torch.long, device=dev)
    static_fn = static_loss
    if cuda and hasattr(torch, "compile") and not a.no_compile:
        static_fn = torch.compile(static_loss, dynamic=False, mode=a.compile_mode)
    if a.head == "full":
        trunk_fn = None
        loss_fn = group_loss
        if cuda and hasattr(torch, "compile") and not a.no_compile:
            loss_fn = torch.compile(group_loss, dynamic=False, mode=a.compile_mode)
    else:
        trunk_fn = trunk
        if cuda and hasattr(torch, "compile") and not a.no_compile:
            trunk_fn = torch.compile(trunk, dynamic=False, mode=a.compile_mode)

    def quick_eval(tag):
        res = {}
        for which, weights in (("ema", ema), ("raw", params)):
            load_eval(weights)
            for B in (16, None):
                Bv = L if B is None else B
                if L % Bv:
                    continue
                vals = []
                for name, rows in valid_quick.items():
                    ppl, _, _ = evaluate.nelbo_ppl(eval_model, rows, Bv, 1234, 1, batch=16, device=dev,
                                                   autocast=cuda)
                    vals.append(ppl)
                res["%s_%s" % (which, "g" if B is None else "B%d" % B)] = float(np.exp(np.mean(np.log(vals))))
        if train_quick is not None and len(train_quick):
            # the same measure on training rows: a gap that grows means memorising, not learning
            load_eval(ema)
            ppl, _, _ = evaluate.nelbo_ppl(eval_model, train_quick, 16 if L % 16 == 0 else L, 1234, 1,
                                           batch=16, device=dev, autocast=cuda)
            res["train_ema_B16"] = float(ppl)  # not an "ema_" key: the choice of final weights reads those
        log("eval %s step %d: %s" % (tag, state["step"], " ".join("%s %.2f" % kv for kv in res.items())))
        return res

    def save():
        t0 = time.time()
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "ema": ema, "state": state,
                    "config": a.config, "args": vars(a)}, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)
        log("checkpoint step %d (%.1f s)" % (state["step"], time.time() - t0))

    budget = a.budget_s
    t_last = time.time()
    t_log = time.time()
    tok_log = 0
    flops_log = 0
    loss_acc = torch.zeros((), device=dev)
    n_acc = 0
    last_ckpt = time.time()
    last_eval = time.time()
    first = True
    n_train = len(train_ids)
    ar = torch.arange(L, device=dev)
    while True:
        p = state["elapsed"] / budget if budget else state["step"] / a.steps
        if p >= 1.0 or (a.steps and state["step"] >= a.steps):
            break
        lr = lr_at(p, a.lr, a.warmup, a.min_lr_frac)
        for g in opt.param_groups:
            g["lr"] = lr
        prof = None
        if cuda and a.profile_at and state["step"] == a.profile_at:
            prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                                      torch.profiler.ProfilerActivity.CUDA])
            prof.__enter__()
        for B, n, beta, omega in groups:
            off = torch.randint(0, n_train - L, (n,), device=dev)
            x0 = train_ids[off[:, None] + ar[None, :]]
            xt, w = noisy_batch(x0, B, beta, omega, cfg.mask_id)
            with bd3model.amp(cuda):
                if a.head == "static":
                    loss, lost = static_fn(model, xt, x0, w, B, block_masks.get(B), rope_cs[B], caps[B])
                    left_out += lost
                    k_rows = caps[B]
                elif trunk_fn is None:
                    loss = loss_fn(model, xt, x0, w, B, block_masks.get(B))
                    k_rows = n * L
                else:
                    loss, k_rows = masked_loss(model, trunk_fn(model, xt, x0, B, block_masks.get(B), rope_cs[B]),
                                               x0, w, a.head, a.chunk)
            (loss / (rows_per_step * L)).backward()
            flops_log += group_flops(cfg, B, n, k_rows, pairs[B])
            loss_acc += loss.detach() / (rows_per_step * L)
        n_acc += 1
        torch.nn.utils.clip_grad_norm_(params, a.clip_grad)
        opt.step()
        opt.zero_grad(set_to_none=True)
        decay = min(a.ema, (1.0 + state["step"]) / (10.0 + state["step"]))
        ema_update(ema, [q.detach() for q in params], decay)
        if prof is not None:  # one profiled step, kept out of the throughput figures
            torch.cuda.synchronize()
            prof.__exit__(None, None, None)
            try:
                table = prof.key_averages().table(sort_by="cuda_time_total", row_limit=30)
            except Exception as e:  # noqa: BLE001 - a profiler report must never stop a run
                table = "no table: %r" % (e,)
            log("profile of step %d (one step, times summed over kernels):\n%s" % (state["step"], table))
            tok_log = 0
            flops_log = 0
            t_log = time.time()
        state["step"] += 1
        state["tokens"] += rows_per_step * L
        tok_log += rows_per_step * L
        now = time.time()
        if first:  # the first step compiles: keep it out of the schedule and the throughput
            if cuda:
                torch.cuda.synchronize()
            now = time.time()
            log("first step done (compile) in %.1f s" % (now - t_last))
            first = False
            tok_log = 0
            flops_log = 0
            t_log = now
        else:
            state["elapsed"] += now - t_last
        t_last = now
        if state["step"] % a.log_every == 0:
            budget = read_budget(a.work, budget)
            if a.head == "static" and left_out.item():
                log("warning: %d masked rows did not fit the static head's capacity so far" % left_out.item())
            lv = loss_acc.item() / max(1, n_acc)
            now = time.time()
            state["elapsed"] += now - t_last
            t_last = now
            tps = tok_log / max(1e-9, now - t_log)
            tfs = flops_log / max(1e-9, now - t_log) / 1e12
            log("step %d  p %.3f  lr %.2e  loss %.4f  %.0f tok/s  %.1f TFLOP/s (%.1f%% of %.0f)  tokens %d" % (
                state["step"], p, lr, lv, tps, tfs, 100 * tfs / a.peak_tflops, a.peak_tflops, state["tokens"]))
            state["curve"].append({"step": state["step"], "elapsed": state["elapsed"], "loss": lv,
                                   "lr": lr, "tok_s": tps, "tflops": tfs, "tokens": state["tokens"]})
            loss_acc.zero_()
            n_acc = 0
            tok_log = 0
            flops_log = 0
            t_log = now
        if a.eval_every_s and time.time() - last_eval > a.eval_every_s:
            t0 = time.time()
            state["curve"].append({"step": state["step"], "eval": quick_eval("periodic")})
            last_eval = time.time()
            t_last += last_eval - t0  # evaluation time stays out of the schedule
            t_log += last_eval - t0
        if a.ckpt_every_s and time.time() - last_ckpt > a.ckpt_every_s:
            t0 = time.time()
            save()
            last_ckpt = time.time()
            t_last += last_ckpt - t0
            t_log += last_ckpt - t0
    save()
    res = quick_eval("final")
    state["curve"].append({"step": state["step"], "eval": res})
    score = {w: np.mean([math.log(v) for k, v in res.items() if k.startswith(w)]) for w in ("ema", "raw")}
    best = "ema" if score["ema"] <= score["raw"] else "raw"
    load_eval(ema if best == "ema" else params)
    torch.save({"model": eval_model.state_dict(), "which": best, "config": a.config},
               os.path.join(a.work, "final.pt"))
    log("final.pt holds the %s weights (quick-eval log-ppl ema %.4f raw %.4f)" % (best, score["ema"],
                                                                                 score["raw"]))
    with open(os.path.join(a.work, "curve.json"), "w") as f:
        json.dump(state["curve"], f)
    log("done: %d steps, %.0f s, %d tokens" % (state["step"], state["elapsed"], state["tokens"]))


def load_for_eval(a, dev):
    model = build_model(a.config, dev)
    if a.gguf:
        export.load_gguf_into(model, a.gguf)
    else:
        ck = torch_load(a.ckpt, dev)
        if a.weights == "ema":
            with torch.no_grad():
                for q, w in zip(model.parameters(), ck["ema"]):
                    q.copy_(w)
        else:
            model.load_state_dict(ck["model"])
    return model


def cmd_evaluate(a):
    dev = torch.device(a.device if a.device else ("cuda" if torch.cuda.is_available() else "cpu"))
    cuda = dev.type == "cuda"
    model = load_for_eval(a, dev)
    valid = load_valid(a.data, model.cfg.n_ctx, a.rows)
    t0 = time.time()
    table = eval_table(model, valid, model.cfg.n_ctx, a.seed, a.passes, dev, cuda)
    log("NELBO perplexity (seed %d, %d passes, rows %s):\n%s" % (a.seed, a.passes,
        {k: len(v) for k, v in valid.items()}, fmt_table(table)))
    log("evaluation took %.1f s" % (time.time() - t0))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"seed": a.seed, "passes": a.passes, "rows": {k: len(v) for k, v in valid.items()},
                       "table": table}, f, indent=1)
    if a.tbins:
        for name, rows in valid.items():
            for B in (4, 16, model.cfg.n_ctx):
                bins = evaluate.nelbo_by_t(model, rows, B, a.seed, batch=16, device=dev, autocast=cuda)
                log("by t %s B=%d: %s" % (name, B, "  ".join("[%.2f,%.2f) %.3f" % (lo, hi, m)
                                                            for lo, hi, m, _ in bins)))
    if a.samples:
        tok = data.load_tokenizer(a.tokenizer)
        gen = torch.Generator().manual_seed(a.seed)
        for name, rows in list(valid.items())[:a.samples]:
            plen = min(64, model.cfg.n_ctx // 2)
            prompt = rows[0, :plen].tolist()
            for B in (16, 4):
                if model.cfg.n_ctx % B:
                    continue
                out = evaluate.sample_blocks(model, prompt, 64 // B, B, gen, device=dev, autocast=cuda)
                log("sample %s B=%d\n--- prompt: %r\n--- continuation: %r" % (
                    name, B, tok.decode(prompt), tok.decode(out)))


def cmd_compare(a):
    """Bits per byte (and NELBO perplexity) of several GGUF models on the same rows with the same
    masks (same seed), and each model's change against the first, paired over rows."""
    dev = torch.device(a.device if a.device else ("cuda" if torch.cuda.is_available() else "cpu"))
    cuda = dev.type == "cuda"
    models = [export.load_gguf_model(g).to(dev) for g in a.gguf]
    cfg = models[0].cfg
    for m in models[1:]:
        assert (m.cfg.n_ctx, m.cfg.n_vocab) == (cfg.n_ctx, cfg.n_vocab), "models need the same n_ctx and vocabulary"
    L = cfg.n_ctx
    blen = data.token_byte_lengths(data.load_tokenizer(a.tokenizer).tokens)
    valid = load_valid(a.data, L, a.rows)
    if a.train_rows:
        valid["train"] = train_sample(data.load_tokens(os.path.join(a.data, "train.bin")), L, a.train_rows)
    modes = [L if b in ("g", "global") else int(b) for b in a.modes.split(",")]
    res = {"seed": a.seed, "passes": a.passes, "models": a.gguf, "rows": {k: len(v) for k, v in valid.items()},
           "table": {}}
    lines = ["%-18s %-9s %s  %s" % ("file", "mode", "  ".join("bpb[%d]   ppl[%d]" % (i, i) for i in range(len(models))),
                                    "change of bpb vs [0] (± paired s.e.)")]
    t0 = time.time()
    for name, rows in valid.items():
        nbytes = int(blen[rows.numpy()].sum())
        for B in modes:
            per = []
            for m in models:
                gen = torch.Generator().manual_seed(a.seed)
                r = np.stack([evaluate.nelbo_rows(m, rows, B, gen, batch=a.batch, device=dev, autocast=cuda)
                              for _ in range(a.passes)]).mean(axis=0)
                per.append(r)
            counted = rows.shape[0] * (L - 1)
            bpb = [float(r.sum() / math.log(2) / nbytes) for r in per]
            ppl = [float(math.exp(r.sum() / counted)) for r in per]
            chg = [(float(r.sum() / per[0].sum() - 1.0),
                    float(np.std(r - per[0], ddof=1) * math.sqrt(len(r)) / per[0].sum()) if len(r) > 1 else 0.0)
                   for r in per[1:]]
            mode = "global" if B == L else "block:%d" % B
            res["table"].setdefault(name, {})[mode] = {"bytes": nbytes, "counted": counted, "bpb": bpb,
                                                       "ppl": ppl, "change": chg}
            lines.append("%-18s %-9s %s  %s" % (name, mode, "  ".join("%.4f  %7.2f" % (b, p) for b, p in zip(bpb, ppl)),
                                                "  ".join("%+.2f%% ± %.2f" % (100 * c, 100 * e) for c, e in chg)))
    log("bits per byte, seed %d, %d passes, rows %s:\n%s" % (a.seed, a.passes, res["rows"], "\n".join(lines)))
    log("comparison took %.1f s" % (time.time() - t0))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


def cmd_bench(a):
    """The device's bf16 matrix rate on random data, and the output layer + loss of one group
    (n rows of L, about half masked) forward and backward with each head, median of `reps`."""
    dev = torch.device("cuda")
    cfg = CONFIGS[a.config]
    L, D = cfg.n_ctx, cfg.n_embd

    def timed(fn, reps):
        for _ in range(3):
            fn()
        ts = []
        for _ in range(reps):
            e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            e0.record()
            fn()
            e1.record()
            torch.cuda.synchronize()
            ts.append(e0.elapsed_time(e1) / 1e3)
        return float(np.median(ts))
    n = 8192
    x, y = (torch.randn(n, n, device=dev, dtype=torch.bfloat16) for _ in range(2))
    s = timed(lambda: x @ y, 20)
    log("bf16 matmul %dx%dx%d on random data: %.2f ms, %.0f TFLOP/s" % (n, n, n, s * 1e3, 2 * n ** 3 / s / 1e12))
    model = bd3model.BD3LM(cfg).to(dev)
    torch.nn.init.normal_(model.output.weight, std=0.02)
    rows = a.rows
    x0 = torch.randint(0, cfg.mask_id, (rows, L), device=dev)
    _, w = noisy_batch(x0, 16, 0.02, 1.0, cfg.mask_id)
    h = torch.randn(rows, L, D, device=dev, requires_grad=True)
    k = int((w > 0).sum())
    best = None
    for head in ("full", "masked", "fused"):
        def step():
            with bd3model.amp(True):
                if head == "full":
                    mid = cfg.mask_id
                    a_ = F.layer_norm(h, (D,))
                    logits = F.linear(a_, model.output.weight[:mid], model.output.bias[:mid])
                    loss = (F.cross_entropy(logits.reshape(rows * L, -1).float(), x0.reshape(-1), reduction="none")
                            * w.reshape(-1)).sum()
                else:
                    loss, _ = masked_loss(model, F.layer_norm(h, (D,)), x0, w, head, a.chunk)
            loss.backward()
        t = timed(step, 10)
        log("head %-6s: %.2f ms forward+backward for %d rows (%d masked), peak memory %.1f GiB" % (
            head, t * 1e3, rows * L, k, torch.cuda.max_memory_allocated() / 2 ** 30))
        torch.cuda.reset_peak_memory_stats()
        if head != "full" and (best is None or t < best[1]):
            best = (head, t)
    log("fastest masked head: %s" % best[0])
    if a.out:
        with open(a.out, "w") as f:
            f.write(best[0] + "\n")


def cmd_export(a):
    dev = torch.device("cpu")
    model = load_for_eval(a, dev)
    tok = data.load_tokenizer(a.tokenizer)
    n_ctx = model.cfg.n_ctx
    bls = [int(b) if b not in ("g", "global") else n_ctx for b in a.block_lengths.split(",")]
    name = a.name or "bd3ed default (bd3lm %dx%d)" % (model.cfg.n_layer, model.cfg.n_embd)
    export.export_gguf(model, tok.tokens, tok.merges, a.out, bls, wtype=a.wtype, name=name)
    log("wrote %s (%d bytes)" % (a.out, os.path.getsize(a.out)))


def cmd_grow(a):
    src, meta = export.load_gguf_model_meta(a.gguf)
    model = build_model(a.config, torch.device("cpu"))
    try:
        how = init_from(model, src, a.noise, a.seed)
    except ValueError as e:
        raise SystemExit("%s, --config %s: %s" % (a.gguf, a.config, e))
    cfg = model.cfg
    name = a.name or "%s, grown to %dx%d" % (meta.get("general.name", "bd3lm"), cfg.n_layer, cfg.n_embd)
    tokens = meta["tokenizer.ggml.tokens"][:cfg.mask_id]  # export appends the mask token
    export.export_gguf(model, tokens, meta["tokenizer.ggml.merges"], a.out,
                       meta["bd3lm.diffusion.block_lengths"], wtype=a.wtype, name=name)
    log("%s: %s; wrote %s (%d params, %d bytes)" % (a.gguf, how, a.out, bd3model.n_params(model),
                                                   os.path.getsize(a.out)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("tokenizer")
    p.add_argument("--corpus", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--vocab", type=int, default=8192)
    p = sub.add_parser("prepare")
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--max-bytes", type=int, default=None, help="read only this much of each file")
    p = sub.add_parser("train")
    p.add_argument("--config", default="default", choices=sorted(CONFIGS))
    p.add_argument("--data", required=True)
    p.add_argument("--work", required=True, help="checkpoint and log folder")
    p.add_argument("--device", default=None)
    p.add_argument("--budget-s", type=float, default=0.0, help="training seconds (the lr schedule runs over them)")
    p.add_argument("--steps", type=int, default=0, help="or a number of steps")
    p.add_argument("--mix", default="4:24,16:36,g:36", help="block length:rows per step; g = global")
    p.add_argument("--clip", default="4:0.45:0.95,16:0.3:0.8,g:0.02:1.0", help="block length:beta:omega")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--min-lr-frac", type=float, default=0.1)
    p.add_argument("--warmup", type=float, default=0.03, help="fraction of the run")
    p.add_argument("--wd", type=float, default=0.1)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--clip-grad", type=float, default=1.0)
    p.add_argument("--dropout", type=float, default=0.0,
                   help="dropout of every block's attention and MLP outputs while training (0: off)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init-gguf", default=None,
                   help="start from the weights of a GGUF file: the same shape, fewer layers (grown in depth) "
                        "or half the width (grown in width)")
    p.add_argument("--grow-noise", type=float, default=1e-2,
                   help="growth in width: symmetry-breaking noise, relative to the RMS of each W/2 "
                        "(bd3model.grow_width); seeded by --seed")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--eval-every-s", type=float, default=120.0)
    p.add_argument("--ckpt-every-s", type=float, default=180.0)
    p.add_argument("--quick-rows", type=int, default=32, help="rows per valid file, and of training text, in periodic evals")
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--no-flex", action="store_true")
    p.add_argument("--compile-mode", default=None,
                   choices=("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"),
                   help="torch.compile mode of the compiled step (reduce-overhead: CUDA graphs)")
    p.add_argument("--head", default="masked", choices=("fused", "masked", "static", "full"),
                   help="output layer and loss: plain at masked rows (fastest measured on the H200), fused "
                        "chunked linear + cross-entropy at masked rows (least memory), static (a fixed "
                        "number of rows, masked first: one compiled graph, no host sync), or every row")
    p.add_argument("--chunk", type=int, default=8192, help="rows per chunk of the fused head")
    p.add_argument("--peak-tflops", type=float, default=989.0,
                   help="the peak the logged utilisation is a fraction of (H100/H200 dense bf16: 989)")
    p.add_argument("--profile-at", type=int, default=0, help="profile this step (CUDA), log the table")
    for name in ("evaluate", "export"):
        p = sub.add_parser(name)
        p.add_argument("--config", default="default", choices=sorted(CONFIGS))
        p.add_argument("--gguf", default=None)
        p.add_argument("--ckpt", default=None)
        p.add_argument("--weights", default="ema", choices=("ema", "model"),
                       help="which weights of --ckpt: the EMA, or 'model' (the raw weights; final.pt)")
        p.add_argument("--device", default=None)
        p.add_argument("--tokenizer", default="bytes")
        if name == "evaluate":
            p.add_argument("--data", required=True)
            p.add_argument("--rows", type=int, default=None, help="rows per valid file (all when absent)")
            p.add_argument("--seed", type=int, default=1)
            p.add_argument("--passes", type=int, default=1)
            p.add_argument("--json", default=None)
            p.add_argument("--samples", type=int, default=0, help="sample from this many valid files")
            p.add_argument("--tbins", action="store_true", help="also print the NELBO by noise level")
        else:
            p.add_argument("--out", required=True)
            p.add_argument("--block-lengths", default="16,4,g")
            p.add_argument("--wtype", default="q8_0", help=WTYPE_HELP)
            p.add_argument("--name", default=None, help="general.name (default: bd3ed default (bd3lm LAYERSxWIDTH))")
    p = sub.add_parser("bench")
    p.add_argument("--config", default="default", choices=sorted(CONFIGS))
    p.add_argument("--rows", type=int, default=36)
    p.add_argument("--chunk", type=int, default=8192)
    p.add_argument("--out", default=None, help="write the fastest masked head's name here")
    p = sub.add_parser("compare")
    p.add_argument("--gguf", action="append", required=True, help="a model; give two or more, the first is the reference")
    p.add_argument("--data", required=True)
    p.add_argument("--tokenizer", default="bytes")
    p.add_argument("--device", default=None)
    p.add_argument("--rows", type=int, default=None, help="rows per valid file (all when absent)")
    p.add_argument("--modes", default="4,16,g", help="block lengths; g = global")
    p.add_argument("--train-rows", type=int, default=0,
                   help="also score this many rows spread over the training stream (file 'train')")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--passes", type=int, default=1)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--json", default=None)
    p = sub.add_parser("grow")
    p.add_argument("--gguf", required=True, help="the model to grow")
    p.add_argument("--config", required=True, choices=sorted(CONFIGS))
    p.add_argument("--out", required=True)
    p.add_argument("--noise", type=float, default=1e-2, help="as train's --grow-noise")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--wtype", default="q8_0", help=WTYPE_HELP)
    p.add_argument("--name", default=None, help="general.name (default: the source's, with the new shape)")
    a = ap.parse_args(argv)
    {"tokenizer": cmd_tokenizer, "prepare": cmd_prepare, "train": cmd_train, "evaluate": cmd_evaluate,
     "export": cmd_export, "compare": cmd_compare, "bench": cmd_bench, "grow": cmd_grow}[a.cmd](a)


if __name__ == "__main__":
    main()
