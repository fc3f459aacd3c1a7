#!/usr/bin/env python3
# prenorm_to_gguf.py: converts a published Qwen2/Qwen2.5/Qwen3 diffusion checkpoint (SDAR,
# Fast-dLLM v2, Dream: config.json, model.safetensors or shards listed in
# model.safetensors.index.json, tokenizer.json) into a bd3lm GGUF file with the pre-norm backbone
# of model/QWEN.md. Depends on the Python standard library and numpy only.
"""Convert a Qwen-family diffusion checkpoint to a bd3lm GGUF file (model/QWEN.md).

usage: prenorm_to_gguf.py HF_DIR -o OUT.gguf [--type f32|f16|bf16|q8_0|q4_0] [--ctx N] [--name NAME]
       [--tokenizer TOKENIZER.json] [--mask-id ID] [--block-length B] [--logit-shift 0|1]

HF_DIR holds config.json, the weights (model.safetensors, or model.safetensors.index.json and its
shards; BF16, F16 or F32) and tokenizer.json (or give --tokenizer). The family's decoding defaults
are chosen from config.json: SDAR (block_size, no logit shift), Fast-dLLM v2 (bd_size, logit
shift, sub-blocks of 8), Dream (no block length: global, logit shift). --type sets the storage of
the large matrices (embeddings, projections, MLP, output); norms and biases stay F32.
q4_0 (4.5 bits per value) keeps the token embedding and output at q8_0. bf16 keeps the published
BF16 weights exactly.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer  # noqa: E402
from hf_to_gguf import ConvertError, SafeTensors, load_config_json, log  # noqa: E402

CONFIG_REQUIRED = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                   "vocab_size")
TOKEN_NORMAL, TOKEN_CONTROL, TOKEN_USER, TOKEN_UNUSED = 1, 3, 4, 5

# Decoding defaults of the published generation code (model/QWEN.md section 2), by the config key
# that marks the family: logit shift, sub-block length, and the bd3lm.sampler.* keys
# (model/SAMPLER.md). Fast-dLLM v2's code decodes greedily by default (temperature 0) and takes
# its confidence from the untempered softmax; the engine's confidence is that of the distribution
# drawn from, so top_k 1 would make every draw certain: its sampling settings (temperature 1,
# top-p 0.95) are stored instead.
FAMILY_DEFAULTS = {
    "sdar": dict(shift=0, sub_block=0, sampler=dict(kind="confidence", steps=4, threshold=0.85,
                                                    temperature=1.0, top_p=1.0, top_k=0)),
    "fast_dllm_v2": dict(shift=1, sub_block=8, sampler=dict(kind="confidence", steps=0, threshold=0.9,
                                                            temperature=1.0, top_p=0.95, top_k=0)),
    "dream": dict(shift=1, sub_block=0, sampler=dict(kind="entropy", steps=0, threshold=0.0,
                                                     temperature=0.2, top_p=0.95, top_k=0)),
}


FAST_DLLM_V2_MASK = 151665  # mask id of Fast-dLLM v2's modeling code when its files name none


def positive_int(cfg, key, path, default=None):
    v = cfg.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
        raise ConvertError("%s: %s must be a positive integer, got %r" % (path, key, v))
    return v


def read_config(hf_dir):
    path = os.path.join(hf_dir, "config.json")
    cfg = load_config_json(path, CONFIG_REQUIRED)
    c = {"path": path}
    c["D"] = positive_int(cfg, "hidden_size", path)
    c["F"] = positive_int(cfg, "intermediate_size", path)
    c["L"] = positive_int(cfg, "num_hidden_layers", path)
    c["H"] = positive_int(cfg, "num_attention_heads", path)
    c["V"] = positive_int(cfg, "vocab_size", path)
    c["Hkv"] = positive_int(cfg, "num_key_value_heads", path, c["H"])
    if cfg.get("head_dim") is None:
        if c["D"] % c["H"]:
            raise ConvertError("%s: hidden_size %d is not a multiple of num_attention_heads %d and "
                               "there is no head_dim" % (path, c["D"], c["H"]))
        c["hd"] = c["D"] // c["H"]
    else:
        c["hd"] = positive_int(cfg, "head_dim", path)
    if c["hd"] % 2 or c["H"] % c["Hkv"]:
        raise ConvertError("%s: head size %d must be even and num_attention_heads %d a multiple of "
                           "num_key_value_heads %d" % (path, c["hd"], c["H"], c["Hkv"]))
    c["eps"] = float(cfg.get("rms_norm_eps", 1e-6))
    c["theta"] = float(cfg.get("rope_theta", 10000.0))
    if not (c["eps"] > 0 and c["theta"] > 0):
        raise ConvertError("%s: rms_norm_eps and rope_theta must be positive" % path)
    if cfg.get("rope_scaling") not in (None, {}):
        raise ConvertError("%s: rope_scaling %r is not supported (plain RoPE only)" % (path, cfg["rope_scaling"]))
    if cfg.get("use_sliding_window"):
        raise ConvertError("%s: sliding-window attention is not supported" % path)
    if cfg.get("hidden_act", "silu") != "silu":
        raise ConvertError("%s: hidden_act %r (only silu, SwiGLU)" % (path, cfg.get("hidden_act")))
    c["tied"] = bool(cfg.get("tie_word_embeddings", False))
    c["max_pos"] = cfg.get("max_position_embeddings")
    c["mask_id"] = cfg.get("mask_token_id")
    # family: the key that names its block length decides, then the architecture class
    arch = " ".join(cfg.get("architectures") or []) + " " + str(cfg.get("model_type", ""))
    if "block_size" in cfg:
        c["family"], c["block"] = "sdar", positive_int(cfg, "block_size", path)
    elif "bd_size" in cfg:
        c["family"], c["block"] = "fast_dllm_v2", positive_int(cfg, "bd_size", path)
    elif "dream" in arch.lower():
        c["family"], c["block"] = "dream", None
    else:
        c["family"], c["block"] = None, None
    c["arch"] = arch.strip()
    return c


def read_tokenizer_json(path):
    """(tokens by id, merges, {id: special?} of the added tokens) from a tokenizer.json."""
    try:
        with open(path, encoding="utf-8") as f:
            tj = json.load(f)
    except FileNotFoundError:
        raise ConvertError("%s: not found (give --tokenizer)" % path) from None
    except (OSError, ValueError) as e:
        raise ConvertError("%s: cannot read: %s" % (path, e)) from None
    model = tj.get("model") if isinstance(tj, dict) else None
    if not isinstance(model, dict) or model.get("type", "BPE") != "BPE" or not isinstance(model.get("vocab"), dict):
        raise ConvertError("%s: not a byte-level BPE tokenizer.json (model.type BPE with a vocab)" % path)
    pre = json.dumps(tj.get("pre_tokenizer"))
    if "ByteLevel" not in pre or tj.get("normalizer", {}) and tj["normalizer"].get("type") not in (None, "NFC"):
        raise ConvertError("%s: pre-tokenizer or normaliser is not Qwen2's (ByteLevel, NFC)" % path)
    if "\\\\p{N}|" not in pre and "\\p{N}|" not in pre:
        raise ConvertError("%s: pre-tokenizer pattern is not Qwen2's (single digits)" % path)
    tokens = {}
    for s, i in model["vocab"].items():
        if not isinstance(i, int) or i < 0 or i in tokens:
            raise ConvertError("%s: vocab entry %r has a bad or repeated id %r" % (path, s, i))
        tokens[i] = s
    added = {}
    for a in tj.get("added_tokens") or []:
        i, s = a.get("id"), a.get("content")
        if not isinstance(i, int) or not isinstance(s, str) or i < 0:
            raise ConvertError("%s: malformed added token %r" % (path, a))
        if i in tokens and tokens[i] != s:
            raise ConvertError("%s: added token %r takes id %d of %r" % (path, s, i, tokens[i]))
        tokens[i] = s
        added[i] = bool(a.get("special", False))
    merges = []
    for m in model.get("merges") or []:
        if isinstance(m, list) and len(m) == 2 and all(isinstance(x, str) for x in m):
            merges.append(m[0] + " " + m[1])
        elif isinstance(m, str) and m.count(" ") == 1:
            merges.append(m)
        else:
            raise ConvertError("%s: malformed merge %r" % (path, m))
    return tokens, merges, added


class Shards:
    """The checkpoint's tensors across model.safetensors or the shards of its index."""

    def __init__(self, hf_dir):
        index = os.path.join(hf_dir, "model.safetensors.index.json")
        single = os.path.join(hf_dir, "model.safetensors")
        self.where = {}  # tensor name -> SafeTensors
        if os.path.isfile(index):
            try:
                with open(index, encoding="utf-8") as f:
                    wm = json.load(f).get("weight_map")
            except (OSError, ValueError, AttributeError) as e:
                raise ConvertError("%s: cannot read: %s" % (index, e)) from None
            if not isinstance(wm, dict) or not wm:
                raise ConvertError("%s: no weight_map" % index)
            files = {}
            for name, fn in wm.items():
                if not isinstance(fn, str) or os.path.basename(fn) != fn:
                    raise ConvertError("%s: tensor %s maps to a bad file name %r" % (index, name, fn))
                if fn not in files:
                    files[fn] = SafeTensors(os.path.join(hf_dir, fn))
                if name not in files[fn].entries:
                    raise ConvertError("%s: tensor %s is listed in %s but not stored there" % (index, name, fn))
                self.where[name] = files[fn]
            self.path = index
        elif os.path.isfile(single):
            st = SafeTensors(single)
            for name in st.names():
                self.where[name] = st
            self.path = single
        else:
            raise ConvertError("%s: neither model.safetensors nor model.safetensors.index.json" % hf_dir)
        self.used = set()

    def has(self, name):
        return name in self.where

    def get(self, name, shape):
        if name not in self.where:
            raise ConvertError("%s: missing tensor %s" % (self.path, name))
        a = self.where[name].get(name)
        if tuple(a.shape) != tuple(shape):
            raise ConvertError("%s: tensor %s has shape %s, expected %s" % (self.path, name, list(a.shape), list(shape)))
        self.used.add(name)
        return a


def convert(hf_dir, out_path, wtype="f32", n_ctx=4096, name=None, tokenizer=None, mask_id=None,
            block_length=None, logit_shift=None):
    c = read_config(hf_dir)
    D, F, L, H, Hkv, hd, V = c["D"], c["F"], c["L"], c["H"], c["Hkv"], c["hd"], c["V"]
    fam = FAMILY_DEFAULTS.get(c["family"])
    if fam is None and logit_shift is None:
        raise ConvertError("%s: architecture %r is none of SDAR, Fast-dLLM v2, Dream; give --logit-shift "
                           "(and --block-length for a block model)" % (c["path"], c["arch"]))
    dec = dict(fam or FAMILY_DEFAULTS["sdar"])
    if logit_shift is not None:
        dec["shift"] = logit_shift
    block = block_length if block_length is not None else c["block"]
    if c["max_pos"] and isinstance(c["max_pos"], int) and c["max_pos"] < n_ctx:
        n_ctx = c["max_pos"]
    if block is not None and (block <= 0 or block > n_ctx):
        raise ConvertError("block length %d is outside 1..n_ctx (%d)" % (block, n_ctx))

    tok_path = tokenizer or os.path.join(hf_dir, "tokenizer.json")
    tokens, merges, added = read_tokenizer_json(tok_path)
    if max(tokens) >= V:
        raise ConvertError("%s: token id %d is outside config.json's vocab_size %d" % (tok_path, max(tokens), V))
    if mask_id is None:
        mask_id = c["mask_id"]
    if mask_id is None:
        found = [i for i, s in tokens.items() if s in ("<|MASK|>", "<|mask|>", "|<MASK>|") and i in added]
        if len(found) == 1:
            mask_id = found[0]
        elif not found and c["family"] == "fast_dllm_v2" and V > FAST_DLLM_V2_MASK:
            mask_id = FAST_DLLM_V2_MASK  # the default of its published forward() and generate()
        else:
            raise ConvertError("%s: no mask_token_id and no single <|MASK|> token in %s; give --mask-id"
                               % (c["path"], tok_path))
    if not isinstance(mask_id, int) or not 0 <= mask_id < V:
        raise ConvertError("mask id %r is outside the vocabulary of %d" % (mask_id, V))
    vocab = []
    types = []
    for i in range(V):
        if i == mask_id:
            vocab.append(tokens.get(i, "<|mask|>"))
            types.append(TOKEN_CONTROL)
        elif i in added:
            vocab.append(tokens[i])
            types.append(TOKEN_CONTROL if added[i] else TOKEN_USER)
        elif i in tokens:
            vocab.append(tokens[i])
            types.append(TOKEN_NORMAL)
        else:
            vocab.append("[PAD%d]" % i)
            types.append(TOKEN_UNUSED)
    vset = set(vocab)
    for k, m in enumerate(merges):
        left, right = m.split(" ")
        if left not in vset or right not in vset or left + right not in vset:
            raise ConvertError("%s: merge %d (%r) uses or makes a token missing from the vocabulary" % (tok_path, k, m))
    eos = [i for i, s in tokens.items() if s == "<|endoftext|>"]

    sh = Shards(hf_dir)
    t = {}
    t["token_embd.weight"] = sh.get("model.embed_tokens.weight", (V, D))
    bias = sh.has("model.layers.0.self_attn.q_proj.bias")
    qk_norm = sh.has("model.layers.0.self_attn.q_norm.weight")
    for i in range(L):
        p, q = "model.layers.%d." % i, "blk.%d." % i
        t[q + "attn_norm.weight"] = sh.get(p + "input_layernorm.weight", (D,))
        t[q + "attn_q.weight"] = sh.get(p + "self_attn.q_proj.weight", (H * hd, D))
        t[q + "attn_k.weight"] = sh.get(p + "self_attn.k_proj.weight", (Hkv * hd, D))
        t[q + "attn_v.weight"] = sh.get(p + "self_attn.v_proj.weight", (Hkv * hd, D))
        if bias:
            t[q + "attn_q.bias"] = sh.get(p + "self_attn.q_proj.bias", (H * hd,))
            t[q + "attn_k.bias"] = sh.get(p + "self_attn.k_proj.bias", (Hkv * hd,))
            t[q + "attn_v.bias"] = sh.get(p + "self_attn.v_proj.bias", (Hkv * hd,))
        if qk_norm:
            t[q + "attn_q_norm.weight"] = sh.get(p + "self_attn.q_norm.weight", (hd,))
            t[q + "attn_k_norm.weight"] = sh.get(p + "self_attn.k_norm.weight", (hd,))
        t[q + "attn_output.weight"] = sh.get(p + "self_attn.o_proj.weight", (D, H * hd))
        t[q + "ffn_norm.weight"] = sh.get(p + "post_attention_layernorm.weight", (D,))
        t[q + "ffn_gate.weight"] = sh.get(p + "mlp.gate_proj.weight", (F, D))
        t[q + "ffn_up.weight"] = sh.get(p + "mlp.up_proj.weight", (F, D))
        t[q + "ffn_down.weight"] = sh.get(p + "mlp.down_proj.weight", (D, F))
    t["output_norm.weight"] = sh.get("model.norm.weight", (D,))
    tied = c["tied"] or not sh.has("lm_head.weight")
    if sh.has("lm_head.weight"):
        head = sh.get("lm_head.weight", (V, D))
        if not tied:
            t["output.weight"] = head
        elif not np.array_equal(np.asarray(head), np.asarray(t["token_embd.weight"])):
            raise ConvertError("%s: tie_word_embeddings is true but lm_head.weight differs from the embedding"
                               % c["path"])
    unused = sorted(n for n in sh.where if n not in sh.used and not n.endswith("rotary_emb.inv_freq"))
    if unused:
        raise ConvertError("%s: unknown tensor%s %s" % (sh.path, "s" if len(unused) > 1 else "",
                                                         ", ".join(unused[:6])))

    wt = gguf_writer.ggml_type_from_name(wtype)
    w = gguf_writer.GGUFWriter()
    w.add_string("general.architecture", "bd3lm")
    w.add_string("general.name", name or os.path.basename(os.path.normpath(hf_dir)) or "prenorm")
    w.add_string("bd3lm.backbone", "prenorm")
    w.add_u32("bd3lm.context_length", n_ctx)
    w.add_u32("bd3lm.embedding_length", D)
    w.add_u32("bd3lm.feed_forward_length", F)
    w.add_u32("bd3lm.block_count", L)
    w.add_u32("bd3lm.attention.head_count", H)
    w.add_u32("bd3lm.attention.head_count_kv", Hkv)
    w.add_u32("bd3lm.attention.key_length", hd)
    w.add_f32("bd3lm.attention.layer_norm_rms_epsilon", c["eps"])
    w.add_f32("bd3lm.rope.freq_base", c["theta"])
    w.add_array_u32("bd3lm.diffusion.block_lengths", [block] if block else [n_ctx])
    w.add_u32("bd3lm.diffusion.mask_token_id", mask_id)
    w.add_u32("bd3lm.diffusion.logit_shift", dec["shift"])
    if dec["sub_block"] and block and block % dec["sub_block"] == 0 and block > dec["sub_block"]:
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
    if eos:
        w.add_u32("tokenizer.ggml.eos_token_id", eos[0])
        w.add_u32("tokenizer.ggml.padding_token_id", eos[0])
    for k, a in t.items():
        large = a.ndim == 2
        w.add_tensor(k, a, gguf_writer.matrix_type(k, wt) if large else gguf_writer.GGML_TYPE_F32)
    log("prenorm_to_gguf: %s: %s, %d layers, D=%d, H=%d/%d kv, hd=%d, F=%d, V=%d, %s, mask %d%s%s%s"
        % (hf_dir, c["family"] or "custom", L, D, H, Hkv, hd, F, V,
           "block length %d" % block if block else "global", mask_id, ", qkv bias" if bias else "",
           ", q/k norm" if qk_norm else "", ", tied output" if tied else ""))
    state = {"last": -1}

    def progress(done, total, tname):
        pct = int(100 * done / total) if total else 100
        if pct // 10 != state["last"] // 10 or done == total:
            state["last"] = pct
            log("prenorm_to_gguf: %3d%%  %7.1f / %.1f MB  %s" % (pct, done / 1e6, total / 1e6, tname))

    tmp = out_path + ".part"
    try:
        w.write(tmp, progress=progress)
        os.replace(tmp, out_path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    log("prenorm_to_gguf: wrote %s (%.1f MB, %s weights)" % (out_path, os.path.getsize(out_path) / 1e6, wtype))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="prenorm_to_gguf.py", description=__doc__.split("\n")[0])
    ap.add_argument("hf_dir", metavar="HF_DIR")
    ap.add_argument("-o", "--output", required=True, metavar="OUT.gguf")
    ap.add_argument("--type", default="f32", choices=("f32", "f16", "bf16", "q8_0", "q4_0"))
    ap.add_argument("--ctx", type=int, default=4096, help="context window of the file (default 4096)")
    ap.add_argument("--name", default=None)
    ap.add_argument("--tokenizer", default=None, metavar="TOKENIZER.json")
    ap.add_argument("--mask-id", type=int, default=None)
    ap.add_argument("--block-length", type=int, default=None)
    ap.add_argument("--logit-shift", type=int, choices=(0, 1), default=None)
    args = ap.parse_args(argv)
    if args.ctx <= 0:
        log("prenorm_to_gguf: error: --ctx must be positive")
        return 2
    try:
        convert(args.hf_dir, args.output, args.type, args.ctx, args.name, args.tokenizer, args.mask_id,
                args.block_length, args.logit_shift)
    except (ConvertError, gguf_writer.GGUFError) as e:
        log("prenorm_to_gguf: error: %s" % e)
        return 1
    except MemoryError:
        log("prenorm_to_gguf: error: out of memory")
        return 1
    except OSError as e:
        log("prenorm_to_gguf: error: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
