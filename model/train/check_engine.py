# check_engine.py: paired check of `bd3 ppl` against this trainer's network: replays the engine's
# masking draws (xoshiro256** seeded through splitmix64, spec section 4 estimator) so that both
# sides score the same masked rows, and compares the summed nats. Depends on torch and numpy.
"""usage: check_engine.py BD3 MODEL.gguf TEXT_FILE [--rows N] [--seeds 1,2] [--modes block:16,global]
Tokenises TEXT_FILE with `BD3 tokenize` and prints, per mode and seed, the engine's nats and
perplexity next to the PyTorch network's on the same masks."""
import argparse
import math
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402

M64 = (1 << 64) - 1


class Xoshiro:
    """The engine's generator (model/rng.c), bit for bit."""

    def __init__(self, seed):
        x = seed & M64
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & M64

    def u64(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.u64() >> 11) * 2.0 ** -53


def engine_masks(rows, B, seed):
    """(masked [R, L] bool, t [R, L]) exactly as bd3_nelbo draws them for full rows."""
    R, L = rows.shape
    nb = L // B
    M = R * nb
    r = Xoshiro(seed)
    u0 = r.uniform()
    masked = np.zeros((R, L), dtype=bool)
    t = np.zeros((R, L))
    for row in range(R):
        tb = [1e-3 + (1.0 - 1e-3) * math.fmod(u0 + (row * nb + b) / M, 1.0) for b in range(nb)]
        t[row] = np.repeat(tb, B)
        for i in range(1, L):
            masked[row, i] = r.uniform() < tb[i // B]
    return masked, t


def torch_nats(model, rows, B, masked, t):
    L = rows.shape[1]
    x0 = torch.from_numpy(rows)
    m = torch.from_numpy(masked)
    xt = torch.where(m, torch.full_like(x0, model.cfg.mask_id), x0)
    with torch.no_grad():
        if B == L:
            logits = model(xt, ("global",), backend="manual")
        else:
            logits = model(torch.cat([xt, x0], 1), ("2L", B), n_out=L, backend="manual")
    lp = torch.log_softmax(logits.double(), -1).gather(-1, x0[..., None])[..., 0].numpy()
    return float(-(lp * masked / t).sum())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bd3")
    ap.add_argument("model")
    ap.add_argument("text")
    ap.add_argument("--rows", type=int, default=2)
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--modes", default="block:16,global")
    ap.add_argument("--compute", default=None, help="the engine's --compute (f32: float32 products; default: its own)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    out = subprocess.run([a.bd3, "tokenize", "-m", a.model, a.text], check=True, capture_output=True, text=True)
    ids = np.array(out.stdout.split(), dtype=np.int64)
    model = export.load_gguf_model(a.model).eval()  # any shape the file describes
    L = model.cfg.n_ctx
    rows = ids[:a.rows * L].reshape(a.rows, L)
    for mode in a.modes.split(","):
        B = L if mode == "global" else int(mode.split(":")[1])
        for seed in (int(s) for s in a.seeds.split(",")):
            res = subprocess.run([a.bd3, "ppl", "-q", "-m", a.model, "--mode", mode, "--rows", str(a.rows),
                                  "--seed", str(seed)] + (["--compute", a.compute] if a.compute else []) + [a.text], check=True, capture_output=True, text=True)
            kv = dict(line.split(None, 1) for line in res.stdout.splitlines() if " " in line)
            c_nats = float(kv["nats"])
            masked, t = engine_masks(rows, B, seed)
            p_nats = torch_nats(model, rows, B, masked, t)
            n = a.rows * (L - 1)
            print("%s %s seed %d rows %d: engine %.4f nats (ppl %.3f), pytorch %.4f nats (ppl %.3f), "
                  "relative difference %.2e" % (os.path.basename(a.text), mode, seed, a.rows, c_nats,
                                               math.exp(c_nats / n), p_nats, math.exp(p_nats / n),
                                               abs(c_nats - p_nats) / c_nats), flush=True)


if __name__ == "__main__":
    main()
