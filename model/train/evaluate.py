# evaluate.py: NELBO perplexity exactly as shared/spec/model.md section 4, and a small
# block-by-block sampler for spot checks. Depends on torch and numpy.
import math

import numpy as np
import torch
import torch.nn.functional as F

from bd3model import amp


def rows_of(ids, n_ctx, max_rows=None):
    """Cuts a token stream into consecutive rows of n_ctx (the last partial row is dropped)."""
    n = len(ids) // n_ctx
    if max_rows is not None:
        n = min(n, max_rows)
    return torch.from_numpy(np.asarray(ids[:n * n_ctx], dtype=np.int64).reshape(n, n_ctx))


def antithetic_t(M, lo, hi, gen, device):
    """M draws of t in [lo, hi]: (u + i)/M mod 1 for one uniform u, rescaled, in random order."""
    u = torch.rand(1, generator=gen).item()
    s = (u + torch.arange(M, dtype=torch.float64)) / M % 1.0
    s = s[torch.randperm(M, generator=gen)]
    return (lo + (hi - lo) * s).to(torch.float32).to(device)


def nelbo_rows(model, rows, B, gen, batch=16, device="cpu", autocast=False, fwd=None, blocks=None):
    """Per-row NELBO sums (float64 numpy [R]) of rows [R, L] at block length B (B = L: global).

    t_b ~ U[1e-3, 1] per block, antithetic over the blocks of each batch; each token of block b
    is masked with probability t_b; masked tokens add -log p / t_b, computed with clean earlier
    blocks as context (2L input, block-causal) or in global mode; position 0 is never masked."""
    model.eval()
    R, L = rows.shape
    mask_id = model.cfg.mask_id
    nb = L // B
    out = []
    with torch.no_grad():
        for r0 in range(0, R, batch):
            x0 = rows[r0:r0 + batch]
            n = x0.shape[0]
            t = antithetic_t(n * nb, 1e-3, 1.0, gen, "cpu").view(n, nb)
            t = t.repeat_interleave(B, dim=1)
            masked = torch.rand(n, L, generator=gen) < t
            masked[:, 0] = False
            x0d, td, md = x0.to(device), t.to(device), masked.to(device)
            xt = torch.where(md, torch.full_like(x0d, mask_id), x0d)
            with amp(autocast):
                if B == L:
                    inp, mode = xt, ("global",)
                else:
                    inp, mode = torch.cat([xt, x0d], dim=1), ("2L", B)
                logits = fwd(inp, mode, L) if fwd is not None else model(inp, mode, n_out=L)
            ce = F.cross_entropy(logits.float().reshape(n * L, -1), x0d.reshape(-1),
                                 reduction="none").view(n, L).double()
            contrib = ce * md.double() / td.double()
            loss = contrib.sum(dim=1)
            if blocks is not None:  # (t_b, mean per-token contribution of block b) for diagnostics
                blocks.append((t[:, ::B].reshape(-1).numpy(),
                               (contrib.view(n, nb, B).mean(dim=2)).reshape(-1).cpu().numpy()))
            out.append(loss.cpu().numpy())
    return np.concatenate(out)


def nelbo_ppl(model, rows, B, seed, passes=1, **kw):
    """(ppl, standard error of ppl, counted tokens) over passes independent draws."""
    gen = torch.Generator().manual_seed(seed)
    per_row = np.stack([nelbo_rows(model, rows, B, gen, **kw) for _ in range(passes)])
    per_row = per_row.mean(axis=0)                       # [R] averaged over passes
    L = rows.shape[1]
    nll = per_row.sum() / (len(per_row) * (L - 1))
    se = per_row.std(ddof=1) / math.sqrt(len(per_row)) / (L - 1) if len(per_row) > 1 else 0.0
    ppl = math.exp(nll)
    return ppl, ppl * se, len(per_row) * (L - 1)


def sample_blocks(model, prompt, n_blocks, B, gen, top_p=0.9, device="cpu", autocast=False):
    """Continues prompt (list of ids, length a multiple of B) by n_blocks blocks: B steps per
    block (the step schedule of spec section 3), nucleus sampling; block-causal attention over
    the whole window (no cache)."""
    model.eval()
    mask_id = model.cfg.mask_id
    seq = list(prompt)
    with torch.no_grad():
        for _ in range(n_blocks):
            canvas = torch.tensor(seq + [mask_id] * B, device=device)[None]
            steps = B
            for i in range(steps):
                t = 1.0 - i / steps
                s = t - 1.0 / steps
                with amp(autocast):
                    logits = model(canvas, ("block", B))
                blk = logits[0, -B:].double().cpu()
                probs = torch.softmax(blk, dim=-1)
                sp, si = probs.sort(dim=-1, descending=True)
                keep = sp.cumsum(-1) <= top_p
                keep[:, 0] = True
                sp = sp * keep
                cur = canvas[0, -B:].cpu()
                for j in range(B):
                    if cur[j].item() != mask_id:
                        continue
                    if i < steps - 1 and torch.rand(1, generator=gen).item() >= (t - s) / t:
                        continue
                    k = torch.multinomial(sp[j] / sp[j].sum(), 1, generator=gen).item()
                    canvas[0, canvas.shape[1] - B + j] = si[j, k]
            seq = canvas[0].tolist()
    return seq[len(prompt):]


def nelbo_by_t(model, rows, B, seed, edges=(0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 0.9, 1.0), **kw):
    """Mean per-token NELBO contribution of blocks whose t_b falls in each bin (a diagnostic of
    which noise levels the model handles badly). Returns [(lo, hi, mean, blocks)]."""
    gen = torch.Generator().manual_seed(seed)
    acc = []
    nelbo_rows(model, rows, B, gen, blocks=acc, **kw)
    t = np.concatenate([a for a, _ in acc])
    v = np.concatenate([b for _, b in acc])
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (t >= lo) & (t < hi)
        out.append((lo, hi, float(v[sel].mean()) if sel.any() else float("nan"), int(sel.sum())))
    return out
