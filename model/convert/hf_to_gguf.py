#!/usr/bin/env python3
# hf_to_gguf.py: converts a published BD3-LM or MDLM checkpoint (Hugging Face layout: config.json +
# model.safetensors) and GPT-2's tokenizer files into one bd3lm GGUF file (shared/spec/model.md
# sections 5 and 6). Depends on the Python standard library and numpy only.
"""Convert a BD3-LM / MDLM checkpoint to a bd3lm GGUF file.

usage: hf_to_gguf.py HF_DIR --tokenizer TOK_DIR -o OUT.gguf [--type f32|f16|bf16|q8_0|q4_0] [--name NAME]

HF_DIR   holds config.json and model.safetensors (e.g. kuleshov-group/bd3lm-owt-block_size16).
TOK_DIR  holds GPT-2's vocab.json + merges.txt, or encoder.json + vocab.bpe.
--type   storage of the large matrices (embeddings, attention, MLP, output); norms, biases and
         the folded modulation vectors are always F32. Default f32.
         q4_0 (4.5 bits per value) keeps the token embedding and output at q8_0. bf16 rounds
         float32 values to nearest (ties to even) and keeps bfloat16 ones exactly.

The adaLN conditioning is folded at timestep 0 in float64: every layer's shift/scale/gate vectors
become constants (blk.N.modulation, output_modulation). The mask token "<|mask|>" is added as the
last id. Block lengths recorded: [block_size] for BD3-LM, [model_length] (global) for MDLM.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer  # noqa: E402

# config.json keys we need, and those we know and may ignore
CONFIG_REQUIRED = ("n_blocks", "hidden_dim", "n_heads", "cond_dim", "model_length", "vocab_size")
CONFIG_KNOWN = set(CONFIG_REQUIRED) | {
    "block_size", "adaln", "causal", "cross_attn", "attn_backend", "dropout", "time_conditioning",
    "var_min", "sampling_eps_min", "sampling_eps_max", "model_type", "architectures", "auto_map",
    "torch_dtype", "transformers_version", "return_dict", "_name_or_path", "name_or_path",
    "output_hidden_states", "use_return_dict", "mlp_ratio", "scale_by_sigma", "text_vocab_size",
}
# tensors in a checkpoint that the engine does not need
IGNORED_TENSORS = ("rotary_emb.inv_freq", "sampling_eps_min", "sampling_eps_max")

SAFETENSORS_DTYPES = {"F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2), "F64": ("<f8", 8)}


class ConvertError(Exception):
    """A problem with the input files; the message names the file and the problem."""


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


# ---- config -------------------------------------------------------------------------------------

def load_config_json(path, required, not_found_hint=""):
    """config.json as a dict holding every key of required; ConvertError naming the file if not."""
    try:
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
    except FileNotFoundError:
        raise ConvertError("%s: not found%s" % (path, not_found_hint)) from None
    except (OSError, ValueError) as e:
        raise ConvertError("%s: cannot read: %s" % (path, e)) from None
    if not isinstance(cfg, dict):
        raise ConvertError("%s: expected a JSON object" % path)
    missing = [k for k in required if k not in cfg]
    if missing:
        raise ConvertError("%s: missing key%s %s" % (path, "s" if len(missing) > 1 else "", ", ".join(missing)))
    return cfg


def read_config(hf_dir):
    path = os.path.join(hf_dir, "config.json")
    cfg = load_config_json(path, CONFIG_REQUIRED, " (HF_DIR must hold config.json and model.safetensors)")
    for k in CONFIG_REQUIRED + ("block_size",):
        v = cfg.get(k)
        if k == "block_size" and v is None:
            continue
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise ConvertError("%s: %s must be a positive integer, got %r" % (path, k, v))
    unknown = sorted(k for k in cfg if k not in CONFIG_KNOWN)
    if unknown:
        log("hf_to_gguf: warning: %s: ignoring unknown keys %s" % (path, ", ".join(unknown)))
    if cfg.get("causal"):
        raise ConvertError("%s: causal (autoregressive) models are not bd3lm models" % path)
    if cfg.get("time_conditioning"):
        log("hf_to_gguf: warning: %s: time_conditioning is true; the conditioning is folded at "
            "timestep 0 as for the published models" % path)
    if cfg.get("model_type") not in (None, "bd3lm", "mdlm"):
        log("hf_to_gguf: warning: %s: model_type %r (expected bd3lm or mdlm)" % (path, cfg.get("model_type")))
    D, H = cfg["hidden_dim"], cfg["n_heads"]
    if D % H or (D // H) % 2:
        raise ConvertError("%s: hidden_dim %d is not n_heads %d times an even head size" % (path, D, H))
    bs = cfg.get("block_size")
    if bs is not None and bs > cfg["model_length"]:
        raise ConvertError("%s: block_size %d exceeds model_length %d" % (path, bs, cfg["model_length"]))
    return cfg


# ---- safetensors ----------------------------------------------------------------------------------

class SafeTensors:
    """Tensors of one .safetensors file as read-only numpy memmaps (no copies)."""

    def __init__(self, path):
        self.path = path
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                head = f.read(8)
                if len(head) < 8:
                    raise ConvertError("%s: truncated (no header length)" % path)
                (n,) = struct.unpack("<Q", head)
                if n < 2 or n > min(size - 8, 1 << 28):
                    raise ConvertError("%s: header length %d does not fit the file of %d bytes (truncated?)"
                                       % (path, n, size))
                raw = f.read(n)
        except FileNotFoundError:
            raise ConvertError("%s: not found" % path) from None
        except OSError as e:
            raise ConvertError("%s: %s" % (path, e)) from None
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise ConvertError("%s: header is not valid JSON: %s" % (path, e)) from None
        if not isinstance(header, dict):
            raise ConvertError("%s: header is not a JSON object" % path)
        base = 8 + n
        data_size = size - base
        self.entries = {}  # name -> (numpy dtype string, shape tuple, absolute offset, safetensors dtype)
        for name, info in header.items():
            if name == "__metadata__":
                continue
            if (not isinstance(info, dict) or not isinstance(info.get("shape"), list)
                    or not isinstance(info.get("data_offsets"), list) or len(info["data_offsets"]) != 2):
                raise ConvertError("%s: tensor %s: malformed header entry" % (path, name))
            dt = info.get("dtype")
            if dt not in SAFETENSORS_DTYPES:
                if any(name.endswith(s) for s in IGNORED_TENSORS):
                    continue
                raise ConvertError("%s: tensor %s: unsupported dtype %r" % (path, name, dt))
            shape = info["shape"]
            begin, end = info["data_offsets"]
            if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape) or \
                    not all(isinstance(o, int) and not isinstance(o, bool) for o in (begin, end)):
                raise ConvertError("%s: tensor %s: bad shape or offsets" % (path, name))
            count = 1
            for d in shape:
                count *= d
            np_dt, item = SAFETENSORS_DTYPES[dt]
            if begin < 0 or end < begin or end - begin != count * item:
                raise ConvertError("%s: tensor %s: offsets %d..%d do not hold shape %s of %s"
                                   % (path, name, begin, end, shape, dt))
            if end > data_size:
                raise ConvertError("%s: tensor %s ends at byte %d of a %d-byte data section: file truncated"
                                   % (path, name, end, data_size))
            self.entries[name] = (np_dt, tuple(shape), base + begin, dt)

    def names(self):
        return list(self.entries)

    def get(self, name):
        """The tensor as a float array: a memmap for F32/F16/F64, a float32 copy for BF16."""
        np_dt, shape, off, dt = self.entries[name]
        count = 1
        for d in shape:
            count *= d
        if count == 0:
            return np.zeros(shape, dtype=np.float32)
        a = np.memmap(self.path, dtype=np_dt, mode="r", offset=off, shape=shape)
        if dt == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        return a


# ---- conversion ------------------------------------------------------------------------------------

def silu(x):
    return x / (1.0 + np.exp(-x))


def fold_modulation(st, names, cfg, hf_path):
    """Constant adaLN vectors at timestep 0, in float64: {layer index or 'out': array [k, D]}."""
    D, L, C = cfg["hidden_dim"], cfg["n_blocks"], cfg["cond_dim"]
    if cfg.get("adaln") is False:
        one = np.zeros((6, D))
        one[2] = one[5] = 1.0  # shift 0, scale 0, gate 1
        return {**{i: one for i in range(L)}, "out": np.zeros((2, D))}
    w0 = need(st, names, "sigma_map.mlp.0.weight", None, hf_path)
    if w0.ndim != 2 or w0.shape[0] != C:
        raise ConvertError("%s: sigma_map.mlp.0.weight has shape %s, expected [cond_dim=%d, frequencies]"
                           % (hf_path, list(w0.shape), C))
    nfreq = w0.shape[1]
    b0 = need(st, names, "sigma_map.mlp.0.bias", (C,), hf_path)
    w2 = need(st, names, "sigma_map.mlp.2.weight", (C, C), hf_path)
    b2 = need(st, names, "sigma_map.mlp.2.bias", (C,), hf_path)
    half = nfreq // 2
    emb = np.zeros(nfreq)
    emb[:half] = 1.0  # cos(0 * f) = 1, sin(0 * f) = 0 (and a trailing 0 when nfreq is odd)
    h = silu(w0.astype(np.float64) @ emb + b0.astype(np.float64))
    c = silu(w2.astype(np.float64) @ h + b2.astype(np.float64))
    mods = {}
    for i in range(L):
        a = need(st, names, "blocks.%d.adaLN_modulation.weight" % i, (6 * D, C), hf_path)
        b = need(st, names, "blocks.%d.adaLN_modulation.bias" % i, (6 * D,), hf_path)
        mods[i] = (a.astype(np.float64) @ c + b.astype(np.float64)).reshape(6, D)
    a = need(st, names, "output_layer.adaLN_modulation.weight", (2 * D, C), hf_path)
    b = need(st, names, "output_layer.adaLN_modulation.bias", (2 * D,), hf_path)
    mods["out"] = (a.astype(np.float64) @ c + b.astype(np.float64)).reshape(2, D)
    return mods


def need(st, names, key, shape, hf_path):
    """The checkpoint tensor named key (after the optional 'backbone.' prefix), shape-checked."""
    if key not in names:
        raise ConvertError("%s: missing tensor %s" % (hf_path, "backbone." + key))
    names[key][1] = True
    a = st.get(names[key][0])
    if shape is not None and tuple(a.shape) != tuple(shape):
        raise ConvertError("%s: tensor %s has shape %s, expected %s"
                           % (hf_path, names[key][0], list(a.shape), list(shape)))
    return a


def convert(hf_dir, tok_dir, out_path, wtype, name=None):
    cfg = read_config(hf_dir)
    hf_path = os.path.join(hf_dir, "model.safetensors")
    if not os.path.isfile(hf_path):
        shards = [f for f in os.listdir(hf_dir) if f.endswith(".safetensors")] if os.path.isdir(hf_dir) else []
        raise ConvertError("%s: not found%s" % (hf_path, " (sharded checkpoints are not supported: %s)"
                                                 % ", ".join(sorted(shards)) if shards else ""))
    D, H, L = cfg["hidden_dim"], cfg["n_heads"], cfg["n_blocks"]
    V, n_ctx = cfg["vocab_size"], cfg["model_length"]
    bs = cfg.get("block_size")
    log("hf_to_gguf: %s: %s, %d layers, D=%d, H=%d, n_ctx=%d, V=%d, %s"
        % (hf_dir, "BD3-LM" if bs else "MDLM", L, D, H, n_ctx, V,
           "block length %d" % bs if bs else "global attention"))

    # tokenizer first: it is small and a mismatch should fail before any heavy work
    try:
        tokens, merges = gguf_writer.read_gpt2_tokenizer(tok_dir)
    except gguf_writer.GGUFError as e:
        raise ConvertError(str(e)) from None
    vset = set(tokens)
    for i, m in enumerate(merges):
        left, right = m.split(" ")
        if left not in vset or right not in vset or left + right not in vset:
            raise ConvertError("%s: merge %d (%r) uses or makes a token missing from the vocabulary"
                               % (tok_dir, i + 1, m))
    if gguf_writer.MASK_TOKEN in tokens:
        raise ConvertError("%s: the vocabulary already holds %s" % (tok_dir, gguf_writer.MASK_TOKEN))
    tokens = tokens + [gguf_writer.MASK_TOKEN]
    if len(tokens) != V:
        raise ConvertError("%s: %d tokens plus the mask token make %d, but config.json says vocab_size %d"
                           % (tok_dir, len(tokens) - 1, len(tokens), V))
    if gguf_writer.EOS_TOKEN not in tokens:
        raise ConvertError("%s: the vocabulary has no %s token" % (tok_dir, gguf_writer.EOS_TOKEN))

    st = SafeTensors(hf_path)
    names = {}  # name without the 'backbone.' prefix -> [full name, used]
    for full in st.names():
        short = full[len("backbone."):] if full.startswith("backbone.") else full
        if short in names:
            raise ConvertError("%s: tensor %s appears twice (with and without 'backbone.')" % (hf_path, short))
        names[short] = [full, False]

    emb = need(st, names, "vocab_embed.embedding", (V, D), hf_path)
    up0 = need(st, names, "blocks.0.mlp.0.weight", None, hf_path)
    if up0.ndim != 2 or up0.shape[1] != D:
        raise ConvertError("%s: blocks.0.mlp.0.weight has shape %s, expected [n_ff, %d]" % (hf_path, list(up0.shape), D))
    F = up0.shape[0]
    if F != 4 * D:
        log("hf_to_gguf: warning: MLP width %d is not 4 * hidden_dim" % F)

    mods = fold_modulation(st, names, cfg, hf_path)
    t = {"token_embd.weight": emb}
    for i in range(L):
        p, q = "blocks.%d." % i, "blk.%d." % i
        t[q + "attn_norm.weight"] = need(st, names, p + "norm1.weight", (D,), hf_path)
        t[q + "attn_qkv.weight"] = need(st, names, p + "attn_qkv.weight", (3 * D, D), hf_path)
        t[q + "attn_output.weight"] = need(st, names, p + "attn_out.weight", (D, D), hf_path)
        t[q + "ffn_norm.weight"] = need(st, names, p + "norm2.weight", (D,), hf_path)
        t[q + "ffn_up.weight"] = need(st, names, p + "mlp.0.weight", (F, D), hf_path)
        t[q + "ffn_up.bias"] = need(st, names, p + "mlp.0.bias", (F,), hf_path)
        t[q + "ffn_down.weight"] = need(st, names, p + "mlp.2.weight", (D, F), hf_path)
        t[q + "ffn_down.bias"] = need(st, names, p + "mlp.2.bias", (D,), hf_path)
        t[q + "modulation"] = mods[i].astype(np.float32)
    t["output_norm.weight"] = need(st, names, "output_layer.norm_final.weight", (D,), hf_path)
    t["output_modulation"] = mods["out"].astype(np.float32)
    t["output.weight"] = need(st, names, "output_layer.linear.weight", (V, D), hf_path)
    t["output.bias"] = need(st, names, "output_layer.linear.bias", (V,), hf_path)

    unused = sorted(full for short, (full, used) in names.items()
                    if not used and not any(short == s for s in IGNORED_TENSORS))
    if unused:
        raise ConvertError("%s: unknown tensor%s %s (is this a BD3-LM/MDLM checkpoint?)"
                           % (hf_path, "s" if len(unused) > 1 else "", ", ".join(unused[:6])
                              + (" and %d more" % (len(unused) - 6) if len(unused) > 6 else "")))
    hp = {"n_ctx": n_ctx, "n_embd": D, "n_head": H, "n_layer": L, "n_ff": F, "norm_eps": 1e-5,
          "rope_base": 10000.0, "block_lengths": [bs] if bs else [n_ctx], "mask_id": V - 1,
          "eos_id": tokens.index(gguf_writer.EOS_TOKEN)}
    if name is None:
        name = os.path.basename(os.path.normpath(hf_dir)) or "bd3lm"

    state = {"last": -1}

    def progress(done, total, tname):
        pct = int(100 * done / total) if total else 100
        if pct // 10 != state["last"] // 10 or done == total:
            state["last"] = pct
            log("hf_to_gguf: %3d%%  %7.1f / %.1f MB  %s" % (pct, done / 1e6, total / 1e6, tname))

    tmp = out_path + ".part"
    try:
        gguf_writer.write_bd3lm(tmp, t, hp, tokens, merges, wtype=wtype, name=name, progress=progress)
        os.replace(tmp, out_path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    log("hf_to_gguf: wrote %s (%.1f MB, %s weights)" % (out_path, os.path.getsize(out_path) / 1e6, wtype))


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="hf_to_gguf.py",
        description="Convert a BD3-LM or MDLM checkpoint (config.json + model.safetensors) and GPT-2's "
                    "tokenizer files into a bd3lm GGUF model file.")
    ap.add_argument("hf_dir", metavar="HF_DIR", help="folder with config.json and model.safetensors")
    ap.add_argument("--tokenizer", required=True, metavar="TOK_DIR",
                    help="folder with vocab.json + merges.txt or encoder.json + vocab.bpe")
    ap.add_argument("-o", "--output", required=True, metavar="OUT.gguf", help="GGUF file to write")
    ap.add_argument("--type", default="f32", choices=("f32", "f16", "bf16", "q8_0", "q4_0"),
                    help="storage of the large matrices (default f32)")
    ap.add_argument("--name", default=None, help="general.name (default: the name of HF_DIR)")
    args = ap.parse_args(argv)
    try:
        convert(args.hf_dir, args.tokenizer, args.output, args.type, args.name)
    except (ConvertError, gguf_writer.GGUFError) as e:
        log("hf_to_gguf: error: %s" % e)
        return 1
    except MemoryError:
        log("hf_to_gguf: error: out of memory")
        return 1
    except OSError as e:
        log("hf_to_gguf: error: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
