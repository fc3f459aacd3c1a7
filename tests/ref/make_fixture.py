# make_fixture.py: small random-weight bd3lm GGUF files (F32, F16, BF16, Q8_0, Q4_0) with float64 reference
# logits (bd3_ref.py) for tests/test_forward.c, or (--bench) one default-sized random F32 model.
# Depends on numpy, model/convert/gguf_writer.py and bd3_ref.py only.
#   make_fixture.py OUTDIR            test fixtures + OUTDIR/cases.txt
#   make_fixture.py --bench OUTDIR    OUTDIR/bench.gguf (8 layers, D 384, 6 heads, F 1536, n_ctx 1024, V 8193)
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "model", "convert"))
import gguf_writer  # noqa: E402
from bd3_ref import Bd3Ref  # noqa: E402


def byte_tokens():
    """GPT-2's 256 single-byte tokens in the byte-to-unicode mapped form, in byte order."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    out, extra = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    return [out[b] for b in range(256)]


def vocab(n_vocab):
    """n_vocab tokens: bytes, merged pairs of letters, <|endoftext|>, <|mask|> (last)."""
    toks = byte_tokens()
    merges = []
    letters = "etaoinshrdlu"
    for a in letters:
        for b in letters:
            if len(toks) >= n_vocab - 2:
                break
            merges.append(a + " " + b)
            toks.append(a + b)
    i = 0
    while len(toks) < n_vocab - 2:
        toks.append("x%d" % i)  # plain extra tokens (never produced by merging)
        i += 1
    toks.append(gguf_writer.EOS_TOKEN)
    toks.append(gguf_writer.MASK_TOKEN)
    return toks, merges


def random_model(path, n_vocab, n_embd, n_head, n_layer, n_ctx, wtype, block_lengths, seed,
                 name=None, sampler=None, tokens=None, bias=None):
    """tokens: {id: token string} replacing entries of the vocabulary; bias: {id: value} added to
    output.bias; name: general.name; sampler: bd3lm.sampler.* defaults (see gguf_writer)."""
    rng = np.random.default_rng(seed)
    model_name = name if name is not None else "random %s" % wtype
    D, F, V = n_embd, 4 * n_embd, n_vocab
    shapes = gguf_writer.bd3lm_tensor_shapes(V, D, F, n_layer)
    t = {}
    for name, shape in shapes.items():
        if name.endswith("modulation"):
            m = 0.2 * rng.standard_normal(shape)
            gate_rows = [2, 5] if shape[0] == 6 else []
            for r in gate_rows:
                m[r] += 0.8
            t[name] = m.astype(np.float32)
        elif name.endswith("norm.weight"):
            t[name] = (1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        elif name.endswith(".bias"):
            t[name] = (0.1 * rng.standard_normal(shape)).astype(np.float32)
        elif name == "token_embd.weight":
            t[name] = rng.standard_normal(shape).astype(np.float32)
        else:
            t[name] = (rng.standard_normal(shape) / np.sqrt(shape[1])).astype(np.float32)
    toks, merges = vocab(V)
    for i, tok in (tokens or {}).items():
        toks[i] = tok
    for i, v in (bias or {}).items():
        t["output.bias"][i] += v
    hp = {"n_ctx": n_ctx, "n_embd": D, "n_head": n_head, "n_layer": n_layer, "n_ff": F,
          "block_lengths": block_lengths}
    gguf_writer.write_bd3lm(path, t, hp, toks, merges, wtype=wtype,
                            name=model_name, sampler=sampler)


def write_case(f, outdir, name, model, mode, ids, logits):
    np.asarray(logits, dtype="<f4").tofile(os.path.join(outdir, name + ".f32"))
    f.write("%s %s %s %d %d %s\n" % (name, model, mode, logits.shape[0], logits.shape[1],
                                     ",".join(str(int(i)) for i in ids)))


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--bench":
        os.makedirs(args[1], exist_ok=True)
        random_model(os.path.join(args[1], "bench.gguf"), 8193, 384, 6, 8, 1024, "f32", [16, 1024], 7)
        return 0
    if len(args) != 1:
        sys.stderr.write("usage: make_fixture.py OUTDIR | --bench OUTDIR\n")
        return 2
    out = args[0]
    os.makedirs(out, exist_ok=True)
    V = 300
    models = {
        "tiny_f32.gguf": dict(n_ctx=64, wtype="f32", seed=1),
        "tiny_f16.gguf": dict(n_ctx=64, wtype="f16", seed=2),
        "tiny_bf16.gguf": dict(n_ctx=64, wtype="bf16", seed=8),
        "tiny_q8_0.gguf": dict(n_ctx=64, wtype="q8_0", seed=3),
        "tiny_q4_0.gguf": dict(n_ctx=64, wtype="q4_0", seed=6),
        "slide_f32.gguf": dict(n_ctx=32, wtype="f32", seed=4),
    }
    for name, kw in models.items():
        random_model(os.path.join(out, name), V, 64, 4, 2, kw["n_ctx"], kw["wtype"], [8, 4, kw["n_ctx"]],
                     kw["seed"])
    random_model(os.path.join(out, "wide_q8_0.gguf"), V, 64, 2, 2, 128, "q8_0", [16, 128], 5)
    rng = np.random.default_rng(11)
    mask = V - 1

    def ids(n, p_mask=0.3):
        x = rng.integers(0, V - 1, size=n)
        x[rng.random(n) < p_mask] = mask
        return x

    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("# name model mode rows n_vocab ids  (logits in name.f32, rows x n_vocab float32 LE)\n")
        for model in ("tiny_f32.gguf", "tiny_f16.gguf", "tiny_bf16.gguf", "tiny_q8_0.gguf", "tiny_q4_0.gguf"):
            ref = Bd3Ref(os.path.join(out, model))
            stem = model[:-5]
            x = ids(64)
            write_case(f, out, stem + "_global64", model, "global", x, ref.forward(x))
            x = ids(37)
            write_case(f, out, stem + "_global37", model, "global", x, ref.forward(x))
            x = ids(64)
            write_case(f, out, stem + "_block4", model, "block:4", x, ref.forward(x, 4))
            x = ids(50)
            write_case(f, out, stem + "_block16", model, "block:16", x, ref.forward(x, 16))
            x = ids(64)
            write_case(f, out, stem + "_stream8", model, "stream:8", x, ref.stream(x, 8))
            x = ids(40)
            write_case(f, out, stem + "_stream16", model, "stream:16", x, ref.stream(x, 16))
            if model == "tiny_f32.gguf":
                x = ids(70)  # blocks 24, 24 (the window slides), then 22 rows
                write_case(f, out, stem + "_stream24", model, "stream:24", x, ref.stream(x, 24))
        # the reference's own cache stream equals its block-causal pass while nothing slides
        ref = Bd3Ref(os.path.join(out, "tiny_f32.gguf"))
        x = ids(60)
        d = np.abs(ref.stream(x, 8) - ref.forward(x, 8)[56:]).max()
        if not d < 1e-9:
            raise SystemExit("reference stream and block-causal pass differ by %g" % d)
        ref = Bd3Ref(os.path.join(out, "slide_f32.gguf"))
        x = ids(80)
        write_case(f, out, "slide_stream8", "slide_f32.gguf", "stream:8", x, ref.stream(x, 8))
        x = ids(70)
        write_case(f, out, "slide_stream4", "slide_f32.gguf", "stream:4", x, ref.stream(x, 4))
        x = ids(96)
        write_case(f, out, "slide_stream16_96", "slide_f32.gguf", "stream:16", x, ref.stream(x, 16))
        x = ids(32)
        write_case(f, out, "slide_global32", "slide_f32.gguf", "global", x, ref.forward(x))
        # heads of 32 and windows of 128: the int8 attention of the quantized path runs here
        ref = Bd3Ref(os.path.join(out, "wide_q8_0.gguf"))
        x = ids(128)
        write_case(f, out, "wide_global128", "wide_q8_0.gguf", "global", x, ref.forward(x))
        x = ids(100)
        write_case(f, out, "wide_block16", "wide_q8_0.gguf", "block:16", x, ref.forward(x, 16))
        x = ids(120)
        write_case(f, out, "wide_stream16", "wide_q8_0.gguf", "stream:16", x, ref.stream(x, 16))
    return 0


if __name__ == "__main__":
    sys.exit(main())
