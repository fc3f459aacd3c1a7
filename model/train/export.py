# export.py: PyTorch weights <-> bd3lm GGUF files (spec section 5), through the project's GGUF
# writer/reader in model/convert/gguf_writer.py. Depends on numpy and torch.
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "convert"))
import gguf_writer  # noqa: E402

import bd3model  # noqa: E402
from data import MASK  # noqa: E402

_BLOCK = {  # module parameter suffix -> GGUF name suffix
    "attn_norm": "attn_norm.weight",
    "attn_qkv.weight": "attn_qkv.weight",
    "attn_output.weight": "attn_output.weight",
    "ffn_norm": "ffn_norm.weight",
    "ffn_up.weight": "ffn_up.weight",
    "ffn_up.bias": "ffn_up.bias",
    "ffn_down.weight": "ffn_down.weight",
    "ffn_down.bias": "ffn_down.bias",
    "modulation": "modulation",
}
_TOP = {
    "token_embd.weight": "token_embd.weight",
    "output_norm": "output_norm.weight",
    "output_modulation": "output_modulation",
    "output.weight": "output.weight",
    "output.bias": "output.bias",
}


def gguf_name(param_name):
    """Model parameter name -> GGUF tensor name."""
    if param_name in _TOP:
        return _TOP[param_name]
    parts = param_name.split(".", 2)
    assert parts[0] == "blocks", param_name
    return "blk.%s.%s" % (parts[1], _BLOCK[parts[2]])


def gguf_tensors(model):
    """Dict GGUF name -> float32 numpy array (numpy shape) of the model's weights."""
    out = {}
    for k, v in model.state_dict().items():
        a = v.detach().float().cpu().numpy().copy()
        if k == "output.bias":
            a[model.cfg.mask_id] = 0.0  # never used: the engine sets the mask logit to -inf
        out[gguf_name(k)] = a
    return out


def export_gguf(model, tokens, merges, path, block_lengths, wtype="q8_0", name="bd3lm"):
    """Writes the model as GGUF. tokens: the BPE vocabulary without the mask token (mapped form);
    the mask token "<|mask|>" is appended as id len(tokens) = model.cfg.mask_id."""
    cfg = model.cfg
    toks = list(tokens) + [MASK]
    assert len(toks) == cfg.n_vocab, (len(toks), cfg.n_vocab)
    hp = {"n_ctx": cfg.n_ctx, "n_embd": cfg.n_embd, "n_head": cfg.n_head, "n_layer": cfg.n_layer,
          "n_ff": cfg.n_ff, "norm_eps": cfg.norm_eps, "rope_base": cfg.rope_base,
          "block_lengths": list(block_lengths), "mask_id": cfg.mask_id}
    gguf_writer.write_bd3lm(path, gguf_tensors(model), hp, toks, list(merges), wtype=wtype, name=name)


def read_gguf(path):
    """(metadata, tensors as float32 numpy, types) of a GGUF file."""
    return gguf_writer.read_gguf(path)


def copy_tensors_into(model, tensors):
    """Copies GGUF tensors (name -> float32 numpy, as read_gguf gives them) into model."""
    sd = model.state_dict()
    new = {}
    for k, v in sd.items():
        a = tensors[gguf_name(k)]
        assert tuple(a.shape) == tuple(v.shape), (k, a.shape, tuple(v.shape))
        new[k] = torch.from_numpy(np.ascontiguousarray(a)).to(v.dtype)
    model.load_state_dict(new)


def load_gguf_into(model, path):
    """Copies the (dequantized) weights of a bd3lm GGUF file into model; returns the metadata."""
    meta, tensors, _ = gguf_writer.read_gguf(path)
    copy_tensors_into(model, tensors)
    return meta


def config_of(meta):
    """bd3model.Config of a bd3lm GGUF file's metadata (the f32 epsilon and base read back as the
    decimal values they were written from)."""
    return bd3model.Config(n_layer=int(meta["bd3lm.block_count"]), n_embd=int(meta["bd3lm.embedding_length"]),
                           n_head=int(meta["bd3lm.attention.head_count"]),
                           n_ff=int(meta["bd3lm.feed_forward_length"]),
                           n_ctx=int(meta["bd3lm.context_length"]),
                           n_vocab=int(meta["bd3lm.diffusion.mask_token_id"]) + 1,
                           norm_eps=float("%.6g" % meta.get("bd3lm.attention.layer_norm_epsilon", 1e-5)),
                           rope_base=float("%.6g" % meta.get("bd3lm.rope.freq_base", 10000.0)))


def load_gguf_model_meta(path):
    """(a BD3LM (CPU, float32) of the shape a bd3lm GGUF file describes, holding its weights,
    the file's metadata), from one reading of the file."""
    meta, tensors, _ = gguf_writer.read_gguf(path)
    model = bd3model.BD3LM(config_of(meta))
    copy_tensors_into(model, tensors)
    return model, meta


def load_gguf_model(path):
    """A BD3LM (CPU, float32) of the shape a bd3lm GGUF file describes, holding its weights."""
    return load_gguf_model_meta(path)[0]
