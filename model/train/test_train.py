# test_train.py: CPU tests of the trainer: the 2L training forward equals the block-by-block
# forward, the network matches a float64 numpy transcription of spec section 1, the noise
# sampler honours its contract, an exported GGUF holds the PyTorch weights within Q8_0
# rounding, and growth in depth and width keeps the function. Depends on torch (1.13 is enough)
# and numpy; no GPU, no network, no HF packages.
import copy
import dataclasses
import math
import os
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bd3model  # noqa: E402
import data  # noqa: E402
import evaluate  # noqa: E402
import export  # noqa: E402
import train  # noqa: E402

SMALL = bd3model.Config(n_layer=2, n_embd=32, n_head=4, n_ff=128, n_ctx=32, n_vocab=258)
WIDE = bd3model.Config(n_layer=2, n_embd=64, n_head=8, n_ff=256, n_ctx=32, n_vocab=258)  # SMALL, twice as wide


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


def toy_data(d):
    """A small byte-token corpus prepared into d/data (train and valid files); returns its path."""
    corpus = os.path.join(d, "corpus")
    os.makedirs(corpus)
    rng = np.random.default_rng(3)
    words = ["alpha", "beta", "gamma", "delta", "caf\u00e9", "x"]
    for split in ("train", "valid"):
        text = "\n\n<|endoftext|>\n\n".join(" ".join(rng.choice(words, 300)) for _ in range(3))
        with open(os.path.join(corpus, "t.%s.txt" % split), "w", encoding="utf-8") as f:
            f.write(text)
    out = os.path.join(d, "data")
    data.prepare(data.ByteTokenizer(), corpus, out, log=lambda *a: None)
    return out


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

    def test_dropout_acts_only_while_training(self):
        cfg = SMALL
        m = random_model(cfg, seed=8).float()
        x = torch.randint(0, cfg.mask_id, (2, cfg.n_ctx))
        with torch.no_grad():
            plain = m(x, ("block", 4), backend="manual")
            m.set_dropout(0.1)
            m.train()
            torch.manual_seed(1)
            a = m(x, ("block", 4), backend="manual")
            b = m(x, ("block", 4), backend="manual")
            m.eval()
            c = m(x, ("block", 4), backend="manual")
        self.assertFalse(torch.equal(a, plain))  # training mode: elements dropped
        self.assertFalse(torch.equal(a, b))      # a fresh draw each pass
        self.assertTrue(torch.equal(c, plain))   # evaluation: the network itself
        self.assertEqual(set(m.state_dict()), set(random_model(cfg, seed=8).state_dict()))
        with self.assertRaises(AssertionError):
            m.set_dropout(1.0)

    def test_training_with_dropout_runs_and_exports_without_it(self):
        d = tempfile.mkdtemp()
        out = toy_data(d)
        work = os.path.join(d, "run")
        train.main(["train", "--config", "toy", "--data", out, "--work", work, "--steps", "3",
                    "--mix", "4:2,g:2", "--eval-every-s", "0", "--ckpt-every-s", "0", "--quick-rows", "1",
                    "--no-compile", "--dropout", "0.1"])
        ck = torch.load(os.path.join(work, "final.pt"))
        m = bd3model.BD3LM(bd3model.TOY)
        m.load_state_dict(ck["model"])
        self.assertTrue(all(b.dropout == 0.0 for b in m.blocks))
        import json
        with open(os.path.join(work, "curve.json")) as f:
            final = json.load(f)[-1]["eval"]
        # the quick evaluation scores training rows too, and they do not count in the choice of weights
        self.assertIn("train_ema_B16", final)
        self.assertGreater(final["train_ema_B16"], 1.0)
        self.assertEqual(sorted(k for k in final if k.startswith("ema")), ["ema_B16", "ema_g"])


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

    def test_mixed_layout_stores_feed_forward_at_four_bits(self):
        cfg = SMALL
        m = random_model(cfg, seed=12).float()
        tok = data.ByteTokenizer()
        d = tempfile.mkdtemp()
        path = os.path.join(d, "mix.gguf")
        export.export_gguf(m, tok.tokens, tok.merges, path, [16, cfg.n_ctx], wtype="q8_0,ffn_=q4_0")
        _, tensors, types = export.read_gguf(path)
        sd = {export.gguf_name(k): v.numpy() for k, v in m.state_dict().items()}
        for name, t in types.items():
            if name.endswith(("ffn_up.weight", "ffn_down.weight")):
                self.assertEqual(t, 2, name)  # Q4_0
                blocks = sd[name].reshape(-1, 32)
                # d = -(the block's value of largest magnitude) / 8 maps it to -8 exactly; values
                # of the other sign reach +8, which clamps to 7 (one step): |q d16 - x| <= |d| plus
                # the f16 rounding of d times at most 8
                tol = np.abs(blocks).max(1, keepdims=True) / 8 * (1 + 8 * 2.0 ** -11) + 1e-7
                self.assertTrue(np.all(np.abs(tensors[name].reshape(-1, 32) - blocks) <= tol), name)
            elif name.endswith(("attn_qkv.weight", "attn_output.weight", "token_embd.weight", "output.weight")):
                self.assertEqual(t, 8, name)  # Q8_0
            else:
                self.assertEqual(t, 0, name)
        with self.assertRaises(Exception):
            export.export_gguf(m, tok.tokens, tok.merges, path, [16], wtype="q8_0,ffn_=q5_0")


class Throughput(unittest.TestCase):
    """The masked-row heads give the loss and gradients of the full-logit reference."""

    def loss_and_grads(self, m, fn):
        m.zero_grad()
        loss = fn()
        loss.backward()
        return loss.item(), {k: p.grad.clone() for k, p in m.named_parameters() if p.grad is not None}

    def test_masked_heads_equal_full_logit_loss_and_gradients(self):
        cfg = SMALL
        L = cfg.n_ctx
        m = random_model(cfg, seed=21)
        torch.manual_seed(21)
        x0 = torch.randint(0, cfg.mask_id, (3, L))
        for B, lo, hi in ((4, 0.02, 1.0), (8, 0.3, 0.8), (L, 0.02, 1.0)):
            xt, w = train.noisy_batch(x0, B, lo, hi, cfg.mask_id)
            ref, gref = self.loss_and_grads(m, lambda: train.group_loss(m, xt, x0, w.double(), B, None))
            for head in ("masked", "fused"):
                mode = ("global",) if B == L else ("2L", B)
                cs = m.rope_for(mode, L if B == L else 2 * L, "cpu")

                def fn():
                    a = train.trunk(m, xt, x0, B, None, cs if head == "fused" else None)
                    loss, k = train.masked_loss(m, a, x0, w.double(), head, chunk=7)
                    self.assertEqual(k, int((w > 0).sum()))
                    self.assertLess(k, x0.numel())  # some rows really were left out
                    return loss
                got, g = self.loss_and_grads(m, fn)
                self.assertAlmostEqual(got, ref, delta=1e-9 * abs(ref), msg="B=%d %s" % (B, head))
                self.assertEqual(sorted(g), sorted(gref))
                for k in gref:
                    err = (g[k] - gref[k]).norm() / max(1e-30, gref[k].norm())
                    self.assertLess(err.item(), 1e-9, "B=%d %s grad %s" % (B, head, k))

    def test_static_head_equals_full_logit_loss_and_reports_what_it_left_out(self):
        cfg = SMALL
        L = cfg.n_ctx
        m = random_model(cfg, seed=23)
        torch.manual_seed(23)
        x0 = torch.randint(0, cfg.mask_id, (4, L))
        for B, lo, hi in ((4, 0.02, 1.0), (8, 0.3, 0.8), (L, 0.02, 1.0)):
            xt, w = train.noisy_batch(x0, B, lo, hi, cfg.mask_id)
            n_masked = int((w > 0).sum())
            cap = train.mask_capacity(4, L, B, lo, hi)
            self.assertGreaterEqual(cap, n_masked)
            self.assertLessEqual(cap, 4 * L)
            ref, gref = self.loss_and_grads(m, lambda: train.group_loss(m, xt, x0, w.double(), B, None))
            out = {}

            def fn():
                loss, lost = train.static_loss(m, xt, x0, w.double(), B, None, None, cap)
                out["lost"] = int(lost)
                return loss
            got, g = self.loss_and_grads(m, fn)
            self.assertEqual(out["lost"], 0)
            self.assertAlmostEqual(got, ref, delta=1e-9 * abs(ref), msg="B=%d" % B)
            for k in gref:
                err = (g[k] - gref[k]).norm() / max(1e-30, gref[k].norm())
                self.assertLess(err.item(), 1e-9, "B=%d grad %s" % (B, k))
            # a capacity that is too small drops masked rows and says how many
            with torch.no_grad():
                small, lost = train.static_loss(m, xt, x0, w.double(), B, None, None, 5)
            self.assertEqual(int(lost), n_masked - 5)
            self.assertLess(small.item(), ref)

    def test_mask_capacity_covers_large_groups(self):
        torch.manual_seed(0)
        for B, n, lo, hi in ((4, 20, 0.02, 1.0), (16, 40, 0.02, 1.0), (1024, 36, 0.02, 1.0)):
            cap = train.mask_capacity(n, 1024, B, lo, hi)
            self.assertLess(cap, 0.56 * n * 1024)  # a real saving over every row
            worst = max(int((train.noisy_batch(torch.zeros(n, 1024, dtype=torch.long), B, lo, hi, 1)[1] > 0).sum())
                        for _ in range(20))
            self.assertGreater(cap, worst)

    def test_fused_head_gradient_matches_autograd_for_any_chunk(self):
        g = torch.Generator().manual_seed(5)
        K, D, V = 23, 6, 11
        a = torch.randn(K, D, generator=g, dtype=torch.float64, requires_grad=True)
        W = torch.randn(V, D, generator=g, dtype=torch.float64, requires_grad=True)
        b = torch.randn(V, generator=g, dtype=torch.float64, requires_grad=True)
        y = torch.randint(0, V, (K,), generator=g)
        w = torch.rand(K, generator=g, dtype=torch.float64) + 0.5
        ref = (F.cross_entropy(a @ W.t() + b, y, reduction="none") * w).sum()
        gr = torch.autograd.grad(3.0 * ref, (a, W, b))
        for chunk in (1, 5, 23, 64):
            got = train.LinearCE.apply(a, W, b, y, w, chunk)
            self.assertAlmostEqual(got.item(), ref.item(), delta=1e-10 * abs(ref.item()))
            gg = torch.autograd.grad(3.0 * got, (a, W, b))
            for x, r in zip(gg, gr):
                self.assertLess(((x - r).norm() / r.norm()).item(), 1e-12)

    def test_flop_count_of_the_training_mask(self):
        L = 32
        for B in (4, 8):
            self.assertEqual(train.attention_pairs(B, L), L * (L + B))
        self.assertEqual(train.attention_pairs(L, L), L * L)
        cfg = SMALL
        D, Fd = cfg.n_embd, cfg.n_ff
        body = cfg.n_layer * (4 * D * D + 2 * D * Fd)
        want = 6 * body * 2 * 2 * L + 6 * D * (cfg.n_vocab - 1) * 10 + 12 * D * cfg.n_layer * 2 * L * (L + 4)
        self.assertEqual(train.group_flops(cfg, 4, 2, 10, L * (L + 4)), want)


class Growth(unittest.TestCase):
    def test_grown_model_computes_the_same_function(self):
        src = random_model(SMALL, seed=31)
        for n_layer in (4, 5):
            cfg = bd3model.Config(n_layer=n_layer, n_embd=SMALL.n_embd, n_head=SMALL.n_head, n_ff=SMALL.n_ff,
                                  n_ctx=SMALL.n_ctx, n_vocab=SMALL.n_vocab)
            dst = bd3model.BD3LM(cfg).double().eval()
            new = bd3model.grow_depth(src, dst)
            self.assertEqual(len(new), n_layer - 2)
            for j in new:  # the new layers are live (non-zero weights), only their gates are zero
                self.assertGreater(dst.blocks[j].attn_qkv.weight.abs().sum().item(), 0)
                self.assertEqual(dst.blocks[j].modulation[2].abs().sum().item(), 0)
                self.assertEqual(dst.blocks[j].modulation[5].abs().sum().item(), 0)
            L = SMALL.n_ctx
            x = torch.randint(0, SMALL.mask_id, (2, 2 * L))
            with torch.no_grad():
                for mode, xx in ((("global",), x[:, :L]), (("block", 4), x[:, :L]), (("2L", 8), x)):
                    a = src(xx, mode, backend="manual")
                    b = dst(xx, mode, backend="manual")
                    self.assertEqual((a - b).abs().max().item(), 0.0, "%d layers, mode %s" % (n_layer, mode))
                # and a gate that opens changes the output (the check above is not vacuous)
                dst.blocks[new[0]].modulation[5].fill_(0.5)
                b = dst(x[:, :L], ("global",), backend="manual")
                self.assertGreater((src(x[:, :L], ("global",), backend="manual") - b).abs().max().item(), 1e-6)

    def test_gguf_model_loads_with_its_own_shape(self):
        m = random_model(SMALL, seed=33).float()
        tok = data.ByteTokenizer()
        path = os.path.join(tempfile.mkdtemp(), "t.gguf")
        export.export_gguf(m, tok.tokens, tok.merges, path, [16, 4, SMALL.n_ctx])
        m2 = export.load_gguf_model(path)
        self.assertEqual(m2.cfg, SMALL)
        x = torch.randint(0, SMALL.mask_id, (1, SMALL.n_ctx))
        with torch.no_grad():
            rel = ((m(x, ("global",), backend="manual") - m2(x, ("global",), backend="manual")).norm()
                   / m(x, ("global",), backend="manual").norm()).item()
        self.assertLess(rel, 0.05)

    def test_widened_model_computes_the_same_function(self):
        # float32 bound: 1e-5 of the largest |logit| (measured 7e-7 to 1.3e-6 over the three
        # modes, the size of the source's own float32 error against float64, 6e-7 to 1.1e-6);
        # float64 bound 1e-12 (measured 1.4e-15).
        src64 = random_model(SMALL, seed=35)
        src = copy.deepcopy(src64).float()
        D = SMALL.n_embd
        dst = bd3model.BD3LM(WIDE).eval()
        self.assertEqual(bd3model.grow_width(src, dst, noise=1e-2, seed=1), 1 + 4 * SMALL.n_layer)
        want = {k: tuple(v.shape) for k, v in bd3model.BD3LM(WIDE).state_dict().items()}
        self.assertEqual({k: tuple(v.shape) for k, v in dst.state_dict().items()}, want)
        self.assertEqual(tuple(dst.blocks[0].attn_qkv.weight.shape), (6 * D, 2 * D))
        V, F2, n = WIDE.n_vocab, WIDE.n_ff, WIDE.n_layer
        self.assertEqual(bd3model.n_params(dst),
                         n * (4 * (2 * D) ** 2 + 2 * (2 * D) * F2 + F2 + 9 * (2 * D)) + 2 * V * 2 * D + 3 * 2 * D + V)
        dst64 = bd3model.BD3LM(WIDE).double().eval()
        bd3model.grow_width(src64, dst64, noise=1e-2, seed=1)
        L = SMALL.n_ctx
        x = torch.randint(0, SMALL.mask_id, (2, 2 * L))
        modes = ((("global",), x[:, :L]), (("block", 4), x[:, :L]), (("2L", 8), x))
        with torch.no_grad():
            for mode, xx in modes:
                a = src(xx, mode, backend="manual")
                b = dst(xx, mode, backend="manual")
                self.assertLessEqual((a - b).abs().max().item(), 1e-5 * a.abs().max().item(), mode)
                a = src64(xx, mode, backend="manual")
                b = dst64(xx, mode, backend="manual")
                self.assertLessEqual((a - b).abs().max().item(), 1e-12 * a.abs().max().item(), mode)
            # the noise is far above the bound: without its cancelling half the output moves
            w = dst.output.weight
            w[:, D:] = w[:, :D]
            a = src(x[:, :L], ("global",), backend="manual")
            b = dst(x[:, :L], ("global",), backend="manual")
            self.assertGreater((a - b).abs().max().item(), 1e-3 * a.abs().max().item())

    def test_widening_breaks_the_symmetry_only_with_noise(self):
        src = random_model(SMALL, seed=37)
        D, Fd = SMALL.n_embd, SMALL.n_ff
        L = SMALL.n_ctx
        for noise in (0.0, 1e-2):
            dst = bd3model.BD3LM(WIDE).double()
            bd3model.grow_width(src, dst, noise=noise, seed=2)
            opt = train.make_optimizer(dst, 1e-3, 0.1, fused=False)
            g = torch.Generator().manual_seed(5)
            for _ in range(3):  # a few AdamW steps on random data with the 2L training input
                x = torch.randint(0, SMALL.mask_id, (2, 2 * L), generator=g)
                y = torch.randint(0, SMALL.mask_id, (2, L), generator=g)
                loss = F.cross_entropy(dst(x, ("2L", 8), n_out=L, backend="manual").reshape(-1, SMALL.mask_id),
                                       y.reshape(-1))
                opt.zero_grad()
                loss.backward()
                opt.step()
            stream = []
            hook = dst.blocks[-1].register_forward_hook(lambda mod, inp, out: stream.append(out))
            with torch.no_grad():
                dst(x, ("2L", 8), backend="manual")
            hook.remove()
            h = stream[0]
            b = dst.blocks[0]
            diff = {  # the two copies: the stream relative to its largest value, weights absolute
                "stream": (h[..., :D] - h[..., D:]).abs().max() / h.abs().max(),
                "token_embd": (dst.token_embd.weight[:, :D] - dst.token_embd.weight[:, D:]).abs().max(),
                "modulation": (b.modulation[:, :D] - b.modulation[:, D:]).abs().max(),
                "ffn_up.bias": (b.ffn_up.bias[:Fd] - b.ffn_up.bias[Fd:]).abs().max(),
            }
            for k, v in diff.items():
                if noise:
                    self.assertGreater(v.item(), 1e-5, k)
                else:  # swap symmetry: the copies stay equal (exactly, in practice)
                    self.assertLess(v.item(), 1e-13, k)

    def test_init_gguf_picks_the_growth_by_shape(self):
        half = bd3model.Config(n_layer=2, n_embd=32, n_head=2, n_ff=128, n_ctx=bd3model.TOY.n_ctx,
                               n_vocab=bd3model.TOY.n_vocab)  # half the width of TOY
        src = random_model(half, seed=39).float()
        d = tempfile.mkdtemp()
        path = os.path.join(d, "half.gguf")
        tok = data.ByteTokenizer()
        export.export_gguf(src, tok.tokens, tok.merges, path, [16, half.n_ctx])
        src = export.load_gguf_model(path)  # the dequantized weights the trainer starts from
        cases = ((bd3model.TOY, "grown in width"), (half, "loaded"),
                 (dataclasses.replace(half, n_layer=3), "grown from 2 to 3 layers"))
        for cfg, how in cases:
            m = bd3model.BD3LM(cfg)
            self.assertTrue(train.init_from(m, src, noise=1e-2, seed=3).startswith(how), how)
        for cfg in (dataclasses.replace(bd3model.TOY, n_layer=3), dataclasses.replace(half, n_layer=1),
                    dataclasses.replace(half, n_head=4), dataclasses.replace(bd3model.TOY, n_ctx=32)):
            with self.assertRaises(ValueError):
                train.init_from(bd3model.BD3LM(cfg), src)
        # through the command: lr 0 keeps the grown weights, which compute the file's function
        out = toy_data(d)
        work = os.path.join(d, "run")
        train.main(["train", "--config", "toy", "--data", out, "--work", work, "--device", "cpu",
                    "--steps", "1", "--lr", "0", "--mix", "4:1", "--quick-rows", "1", "--eval-every-s", "0",
                    "--ckpt-every-s", "0", "--init-gguf", path, "--grow-noise", "1e-2", "--seed", "4"])
        m = bd3model.BD3LM(bd3model.TOY)
        m.load_state_dict(torch.load(os.path.join(work, "ckpt.pt"))["model"])
        ref = bd3model.BD3LM(bd3model.TOY)
        bd3model.grow_width(src, ref, noise=1e-2, seed=4)
        for k, v in ref.state_dict().items():
            self.assertTrue(torch.equal(m.state_dict()[k], v), k)
        x = torch.randint(0, half.mask_id, (1, half.n_ctx))
        with torch.no_grad():
            a = src(x, ("block", 16), backend="manual")
            b = m.eval()(x, ("block", 16), backend="manual")
        self.assertLessEqual((a - b).abs().max().item(), 1e-5 * a.abs().max().item())
        with self.assertRaisesRegex(SystemExit, "cannot start 8 layers x 384"):
            train.main(["train", "--config", "default", "--data", out, "--work", os.path.join(d, "no"),
                        "--device", "cpu", "--steps", "1", "--init-gguf", path])


class BitsPerByte(unittest.TestCase):
    def test_token_byte_lengths(self):
        n = data.token_byte_lengths(data.ByteTokenizer().tokens)
        self.assertTrue(np.all(n[:256] == 1))
        self.assertEqual(n[256], len("<|endoftext|>"))
        n = data.token_byte_lengths(["\u0120the", "\u00c3\u00a9", "<|endoftext|>", "ab"])
        self.assertEqual(list(n), [4, 2, 13, 2])  # " the", "\u00e9" (2 UTF-8 bytes), eos, "ab"

    def test_training_rows_are_spread_over_the_stream(self):
        d = tempfile.mkdtemp()
        out = toy_data(d)
        ids = data.load_tokens(os.path.join(out, "train.bin"))
        L = SMALL.n_ctx
        rows = train.train_sample(ids, L, 4)
        self.assertEqual(tuple(rows.shape), (4, L))
        step = (len(ids) - L) // 4
        for i in range(4):
            self.assertEqual(rows[i].tolist(), [int(x) for x in ids[i * step:i * step + L]])
        self.assertGreater(step, L)  # spread, not consecutive rows from the start
        self.assertEqual(train.train_sample(ids, L, 10 ** 9).shape[0], len(ids) // L)

    def test_compare_of_a_model_with_itself_and_another(self):
        d = tempfile.mkdtemp()
        out = toy_data(d)
        tok = data.ByteTokenizer()
        paths = []
        for seed in (41, 41, 42):
            m = random_model(SMALL, seed=seed).float()
            paths.append(os.path.join(d, "m%d_%d.gguf" % (seed, len(paths))))
            export.export_gguf(m, tok.tokens, tok.merges, paths[-1], [8, SMALL.n_ctx])
        js = os.path.join(d, "cmp.json")
        train.main(["compare", "--data", out, "--gguf", paths[0], "--gguf", paths[1], "--gguf", paths[2],
                    "--modes", "8,g", "--rows", "6", "--passes", "2", "--device", "cpu", "--json", js,
                    "--train-rows", "3"])
        import json
        with open(js) as f:
            res = json.load(f)
        r = res["table"]["t"]
        ids = data.load_tokens(os.path.join(out, "t.valid.bin"))[:6 * SMALL.n_ctx]
        want_bytes = sum(13 if i == tok.eos_id else 1 for i in ids)
        for mode in ("block:8", "global"):
            self.assertEqual(r[mode]["bytes"], want_bytes)
            bpb, ppl, chg = r[mode]["bpb"], r[mode]["ppl"], r[mode]["change"]
            self.assertEqual(bpb[0], bpb[1])          # same weights, same masks: identical
            self.assertEqual(chg[0], [0.0, 0.0])
            self.assertNotEqual(bpb[0], bpb[2])       # another model: a different figure
            # bpb and ppl describe the same nats: bpb * bytes * ln 2 = ln(ppl) * counted tokens
            nats = bpb[2] * r[mode]["bytes"] * math.log(2)
            self.assertAlmostEqual(nats, math.log(ppl[2]) * r[mode]["counted"], delta=1e-6 * nats)
            self.assertAlmostEqual(chg[1][0], bpb[2] / bpb[0] - 1, delta=1e-9)
        self.assertEqual(res["rows"]["train"], 3)
        trows = train.train_sample(data.load_tokens(os.path.join(out, "train.bin")), SMALL.n_ctx, 3).numpy().ravel()
        self.assertEqual(res["table"]["train"]["global"]["bytes"],
                         sum(13 if i == tok.eos_id else 1 for i in trows))


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
            subprocess.run([bd3, "logits", "-q", "-t", "1", "--compute", "f32", "-m", path,
                            "--ids", ",".join(map(str, x)),
                            "--mode", arg, "-o", out], check=True)
            c = np.fromfile(out, dtype=np.float32).reshape(cfg.n_ctx, cfg.n_vocab)[:, :cfg.mask_id]
            with torch.no_grad():
                p = m2.eval()(torch.from_numpy(x)[None], mode, backend="manual")[0].numpy()
            rel = np.linalg.norm(c - p) / np.linalg.norm(p)
            self.assertLess(rel, 1e-4, "%s: relative difference %g" % (arg, rel))

    def test_c_engine_reads_a_file_grown_in_width(self):
        bd3 = os.path.join(os.environ.get("BUILD", "build"), "bd3")
        if not os.access(bd3, os.X_OK):
            self.skipTest("%s not built" % bd3)
        import subprocess
        cfg = bd3model.TOY
        half = dataclasses.replace(cfg, n_embd=cfg.n_embd // 2, n_head=cfg.n_head // 2, n_ff=cfg.n_ff // 2)
        tok = data.ByteTokenizer()
        d = tempfile.mkdtemp()
        src_path, path = os.path.join(d, "half.gguf"), os.path.join(d, "wide.gguf")
        export.export_gguf(random_model(half, seed=43).float(), tok.tokens, tok.merges, src_path, [8, cfg.n_ctx])
        train.main(["grow", "--gguf", src_path, "--config", "toy", "--out", path, "--seed", "5"])
        info = subprocess.run([bd3, "info", "-m", path], check=True, capture_output=True, text=True).stdout
        self.assertRegex(info, r"n_embd\s+%d\n" % cfg.n_embd)
        self.assertRegex(info, r"n_head\s+%d\n" % cfg.n_head)
        src = export.load_gguf_model(src_path).eval()
        m = export.load_gguf_model(path).eval()  # the weights the engine reads
        self.assertEqual(m.cfg, cfg)
        rng = np.random.default_rng(17)
        x = rng.integers(0, cfg.mask_id, cfg.n_ctx)
        x[rng.random(cfg.n_ctx) < 0.4] = cfg.mask_id
        out = path + ".logits"
        for mode, arg in ((("block", 8), "block:8"), (("global",), "global")):
            subprocess.run([bd3, "logits", "-q", "-t", "1", "--compute", "f32", "-m", path,
                            "--ids", ",".join(map(str, x)), "--mode", arg, "-o", out], check=True)
            c = np.fromfile(out, dtype=np.float32).reshape(cfg.n_ctx, cfg.n_vocab)[:, :cfg.mask_id]
            with torch.no_grad():
                p = m(torch.from_numpy(x)[None], mode, backend="manual")[0].numpy()
                q = src(torch.from_numpy(x)[None], mode, backend="manual")[0].numpy()
            rel = np.linalg.norm(c - p) / np.linalg.norm(p)
            self.assertLess(rel, 1e-4, "%s: engine vs PyTorch, relative difference %g" % (arg, rel))
            # the grown file computes the source's function up to its own Q8_0 rounding (measured 1.3e-3)
            rel = np.linalg.norm(c - q) / np.linalg.norm(q)
            self.assertLess(rel, 0.01, "%s: grown vs source, relative difference %g" % (arg, rel))


if __name__ == "__main__":
    unittest.main(verbosity=2)
