# test_train.py: CPU tests of the trainer: the 2L training forward equals the block-by-block
# forward, the network matches a float64 numpy transcription of spec section 1, the noise
# sampler honours its contract, and an exported GGUF holds the PyTorch weights within Q8_0
# rounding. Depends on torch (1.13 is enough) and numpy; no GPU, no network, no HF packages.
import math
import os
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bd3model  # noqa: E402
import data  # noqa: E402
import evaluate  # noqa: E402
import export  # noqa: E402
import train  # noqa: E402

SMALL = bd3model.Config(n_layer=2, n_embd=32, n_head=4, n_ff=128, n_ctx=32, n_vocab=258)


def random_model(cfg, seed):
    """A model with every parameter random (the default init zeroes the output layer)."""
    torch.manual_seed(seed)
    m = bd3model.BD3LM(cfg).double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
        for b in m.blocks:  # keep norms near 1 so activations stay in a sane range
            b.attn_norm.add_(1.0)
            b.ffn_norm.add_(1.0)
    return m.eval()


class TrainingMask(unittest.TestCase):
    def test_2l_forward_equals_block_by_block_forward(self):
        cfg = SMALL
        L = cfg.n_ctx
        for B in (4, 8):
            m = random_model(cfg, seed=B)
            g = torch.Generator().manual_seed(B)
            x0 = torch.randint(0, cfg.mask_id, (3, L), generator=g)
            masked = torch.rand(3, L, generator=g) < 0.5
            xt = torch.where(masked, torch.full_like(x0, cfg.mask_id), x0)
            with torch.no_grad():
                two = m(torch.cat([xt, x0], 1), ("2L", B), n_out=L, backend="manual")
                for b in range(L // B):
                    win = torch.cat([x0[:, :b * B], xt[:, b * B:(b + 1) * B]], 1)
                    ref = m(win, ("block", B), backend="manual")[:, -B:]
                    got = two[:, b * B:(b + 1) * B]
                    err = (got - ref).abs().max().item()
                    self.assertLess(err, 1e-9, "B=%d block %d differs by %g" % (B, b, err))

    def test_2l_noisy_half_ignores_later_clean_blocks(self):
        cfg = SMALL
        L, B = cfg.n_ctx, 8
        m = random_model(cfg, seed=3)
        x0 = torch.randint(0, cfg.mask_id, (1, L))
        xt = x0.clone()
        xt[:, ::3] = cfg.mask_id
        x0b = x0.clone()
        x0b[:, 2 * B:] = (x0b[:, 2 * B:] + 1) % cfg.mask_id  # change clean blocks 2..
        with torch.no_grad():
            a = m(torch.cat([xt, x0], 1), ("2L", B), n_out=L, backend="manual")
            b = m(torch.cat([xt, x0b], 1), ("2L", B), n_out=L, backend="manual")
        self.assertLess((a[:, :3 * B] - b[:, :3 * B]).abs().max().item(), 1e-9)  # blocks 0..2 unchanged
        self.assertGreater((a[:, 3 * B:] - b[:, 3 * B:]).abs().max().item(), 1e-6)  # block 3 sees them

    def test_mask_table_of_2l_mode(self):
        L, B = 8, 4
        M = bd3model.dense_mask(("2L", B), 2 * L, L)
        self.assertTrue(M[1, 3])        # noisy sees noisy in its own block
        self.assertFalse(M[5, 1])       # noisy does not see noisy of an earlier block
        self.assertTrue(M[5, L + 3])    # noisy sees clean of an earlier block
        self.assertFalse(M[5, L + 5])   # ...but not clean of its own block
        self.assertFalse(M[L + 1, 1])   # clean never sees noisy
        self.assertTrue(M[L + 5, L + 1])  # clean sees clean of earlier blocks
        self.assertTrue(M[L + 1, L + 3])  # and of its own block
        self.assertFalse(M[L + 1, L + 5])  # not of later blocks


def numpy_forward(m, ids, B):
    """float64 numpy transcription of spec section 1 with block-causal attention (B) or global."""
    cfg = m.cfg
    P = {k: v.detach().double().numpy() for k, v in m.state_dict().items()}
    D, H = cfg.n_embd, cfg.n_head
    hd = D // H
    T = len(ids)

    def ln(x, w):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + cfg.norm_eps) * w

    inv = cfg.rope_base ** (-2.0 * np.arange(hd // 2, dtype=np.float32) / hd)
    ang = (np.arange(T, dtype=np.float32)[:, None] * inv[None, :].astype(np.float32)).astype(np.float64)
    cos, sin = np.cos(ang), np.sin(ang)

    def rope(x):  # [T, hd]
        h = hd // 2
        out = np.empty_like(x)
        out[:, :h] = x[:, :h] * cos - x[:, h:] * sin
        out[:, h:] = x[:, h:] * cos + x[:, :h] * sin
        return out

    def gelu(x):
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))

    h = P["token_embd.weight"][ids]
    for l in range(cfg.n_layer):
        p = "blocks.%d." % l
        s1, c1, g1, s2, c2, g2 = P[p + "modulation"]
        a = ln(h, P[p + "attn_norm"]) * (1 + c1) + s1
        qkv = a @ P[p + "attn_qkv.weight"].T
        q, k, v = qkv[:, :D], qkv[:, D:2 * D], qkv[:, 2 * D:]
        o = np.zeros((T, D))
        for hh in range(H):
            sl = slice(hh * hd, (hh + 1) * hd)
            qh, kh = rope(q[:, sl]), rope(k[:, sl])
            sc = qh @ kh.T / math.sqrt(hd)
            for i in range(T):
                for j in range(T):
                    if B and j // B > i // B:
                        sc[i, j] = -np.inf
            sc = np.exp(sc - sc.max(1, keepdims=True))
            sc /= sc.sum(1, keepdims=True)
            o[:, sl] = sc @ v[:, sl]
        h = h + g1 * (o @ P[p + "attn_output.weight"].T)
        a = ln(h, P[p + "ffn_norm"]) * (1 + c2) + s2
        u = gelu(a @ P[p + "ffn_up.weight"].T + P[p + "ffn_up.bias"])
        h = h + g2 * (u @ P[p + "ffn_down.weight"].T + P[p + "ffn_down.bias"])
    s, c = P["output_modulation"]
    a = ln(h, P["output_norm"]) * (1 + c) + s
    return a @ P["output.weight"].T + P["output.bias"]


class Network(unittest.TestCase):
    def test_forward_matches_spec_transcription(self):
        cfg = bd3model.Config(n_layer=2, n_embd=16, n_head=2, n_ff=64, n_ctx=12, n_vocab=50)
        m = random_model(cfg, seed=7)
        ids = np.random.default_rng(7).integers(0, cfg.n_vocab, 12)
        for B in (4, None):
            ref = numpy_forward(m, ids, B)[:, :cfg.mask_id]
            mode = ("block", B) if B else ("global",)
            with torch.no_grad():
                got = m(torch.from_numpy(ids)[None], mode, backend="manual")[0].numpy()
            rel = np.linalg.norm(got - ref) / np.linalg.norm(ref)
            self.assertLess(rel, 1e-6, "mode %s: relative error %g" % (mode, rel))


class Noise(unittest.TestCase):
    def test_noisy_batch_keeps_position_zero_and_clips_t(self):
        torch.manual_seed(0)
        x0 = torch.randint(0, 100, (64, 32))
        for B, lo, hi in ((4, 0.45, 0.95), (32, 0.02, 1.0)):
            xt, w = train.noisy_batch(x0, B, lo, hi, mask_id=100)
            masked = xt == 100
            self.assertFalse(masked[:, 0].any())
            self.assertTrue(torch.equal(xt[~masked], x0[~masked]))
            t = 1.0 / w[masked]
            self.assertGreaterEqual(t.min().item(), lo - 1e-6)
            self.assertLessEqual(t.max().item(), hi + 1e-6)
            self.assertTrue(torch.all(w[~masked] == 0))
            frac = masked[:, 1:].float().mean().item()
            self.assertAlmostEqual(frac, (lo + hi) / 2, delta=0.05)

    def test_antithetic_draws_cover_the_interval_evenly(self):
        g = torch.Generator().manual_seed(1)
        t = evaluate.antithetic_t(100, 1e-3, 1.0, g, "cpu").sort().values
        gaps = t[1:] - t[:-1]
        self.assertLess((gaps - 0.999 / 100).abs().max().item(), 1e-4)


class Gguf(unittest.TestCase):
    def test_exported_gguf_matches_weights_within_q8_0_rounding(self):
        cfg = SMALL
        m = random_model(cfg, seed=11).float()
        tok = data.ByteTokenizer()
        d = tempfile.mkdtemp()
        path = os.path.join(d, "t.gguf")
        export.export_gguf(m, tok.tokens, tok.merges, path, [16, 4, cfg.n_ctx])
        meta, tensors, types = export.read_gguf(path)
        self.assertEqual(meta["general.architecture"], "bd3lm")
        self.assertEqual(meta["bd3lm.diffusion.block_lengths"], [16, 4, cfg.n_ctx])
        self.assertEqual(meta["bd3lm.diffusion.mask_token_id"], cfg.mask_id)
        self.assertEqual(meta["tokenizer.ggml.tokens"][-1], "<|mask|>")
        self.assertEqual(meta["tokenizer.ggml.tokens"][ord(" ")], "\u0120")
        self.assertEqual(meta["tokenizer.ggml.eos_token_id"], tok.eos_id)
        large = ("token_embd.weight", "attn_qkv.weight", "attn_output.weight", "ffn_up.weight",
                 "ffn_down.weight", "output.weight")
        n_q8 = 0
        for k, v in m.state_dict().items():
            name = export.gguf_name(k)
            want = v.numpy()
            got = tensors[name]
            self.assertEqual(got.shape, want.shape, name)
            if name.endswith(large):
                n_q8 += 1
                self.assertEqual(types[name], 8, name)
                blocks = want.reshape(-1, 32)
                # |q d16 - x| <= 0.5 d (rounding of q) + 127 |d16 - d| (f16 scale, 2^-11 relative)
                tol = np.abs(blocks).max(1, keepdims=True) / 127 * (0.5 + 127 * 2.0 ** -11) + 1e-7
                self.assertTrue(np.all(np.abs(got.reshape(-1, 32) - blocks) <= tol), name)
            else:
                self.assertEqual(types[name], 0, name)
                if name == "output.bias":
                    want = want.copy()
                    want[cfg.mask_id] = 0.0
                self.assertTrue(np.array_equal(got, want), name)
        self.assertEqual(n_q8, 2 + 4 * cfg.n_layer)
        # the weights read back run the same network, within Q8_0 noise
        m2 = bd3model.BD3LM(cfg)
        export.load_gguf_into(m2, path)
        x = torch.randint(0, cfg.mask_id, (2, cfg.n_ctx))
        with torch.no_grad():
            a = m(x, ("block", 4), backend="manual")
            b = m2.eval()(x, ("block", 4), backend="manual")
        rel = ((a - b).norm() / a.norm()).item()
        self.assertLess(rel, 0.05)
        self.assertGreater(rel, 0.0)  # Q8_0 really was applied


class Engine(unittest.TestCase):
    def test_c_engine_logits_match_pytorch_on_an_exported_file(self):
        bd3 = os.path.join(os.environ.get("BUILD", "build"), "bd3")
        if not os.access(bd3, os.X_OK):
            self.skipTest("%s not built" % bd3)
        import subprocess
        cfg = SMALL
        m = random_model(cfg, seed=13).float()
        tok = data.ByteTokenizer()
        path = os.path.join(tempfile.mkdtemp(), "t.gguf")
        export.export_gguf(m, tok.tokens, tok.merges, path, [8, cfg.n_ctx])
        m2 = bd3model.BD3LM(cfg)
        export.load_gguf_into(m2, path)  # the same (dequantized) weights the engine reads
        rng = np.random.default_rng(13)
        x = rng.integers(0, cfg.mask_id, cfg.n_ctx)
        x[rng.random(cfg.n_ctx) < 0.4] = cfg.mask_id
        x[0] = 5
        out = path + ".logits"
        for mode, arg in ((("block", 8), "block:8"), (("global",), "global")):
            subprocess.run([bd3, "logits", "-q", "-t", "1", "-m", path, "--ids", ",".join(map(str, x)),
                            "--mode", arg, "-o", out], check=True)
            c = np.fromfile(out, dtype=np.float32).reshape(cfg.n_ctx, cfg.n_vocab)[:, :cfg.mask_id]
            with torch.no_grad():
                p = m2.eval()(torch.from_numpy(x)[None], mode, backend="manual")[0].numpy()
            rel = np.linalg.norm(c - p) / np.linalg.norm(p)
            self.assertLess(rel, 1e-4, "%s: relative difference %g" % (arg, rel))


if __name__ == "__main__":
    unittest.main(verbosity=2)
