# gguf_writer.py: GGUF v3 writer (and a small reader for checks) plus the bd3lm model-file layout
# of shared/spec/model.md section 5. Depends on the Python standard library and numpy only.
"""Write GGUF v3 files, and complete bd3lm model files.

Low level:  w = GGUFWriter(); w.add_u32("k", 1); w.add_tensor("t", arr, GGML_TYPE_F16); w.write(path)
High level: write_bd3lm(path, tensors, hparams, tokens, merges, wtype="f32", name="...")

Numpy arrays are given in their natural row-major shape ([out, in] for a weight); GGUF lists
dimensions fastest-varying first, so such an array is written with ne = [in, out] and the same
bytes. Tensors are converted (F16, Q8_0, Q4_0) one at a time while writing, so numpy memmaps can be
passed without loading a whole checkpoint into memory.
"""

import struct
import sys

import numpy as np

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
GGUF_DEFAULT_ALIGNMENT = 32

# metadata value types
GGUF_TYPE_UINT8 = 0
GGUF_TYPE_INT8 = 1
GGUF_TYPE_UINT16 = 2
GGUF_TYPE_INT16 = 3
GGUF_TYPE_UINT32 = 4
GGUF_TYPE_INT32 = 5
GGUF_TYPE_FLOAT32 = 6
GGUF_TYPE_BOOL = 7
GGUF_TYPE_STRING = 8
GGUF_TYPE_ARRAY = 9
GGUF_TYPE_UINT64 = 10
GGUF_TYPE_INT64 = 11
GGUF_TYPE_FLOAT64 = 12

# tensor types
GGML_TYPE_F32 = 0
GGML_TYPE_F16 = 1
GGML_TYPE_Q4_0 = 2
GGML_TYPE_Q8_0 = 8
GGML_TYPE_BF16 = 30

QK8_0 = 32  # values per Q8_0 block
Q8_0_BLOCK_BYTES = 2 + QK8_0  # f16 scale + 32 int8
Q4_0_BLOCK_BYTES = 2 + QK8_0 // 2  # f16 scale + 16 bytes of two 4-bit codes

TYPE_NAMES = {"f32": GGML_TYPE_F32, "f16": GGML_TYPE_F16, "bf16": GGML_TYPE_BF16, "q8_0": GGML_TYPE_Q8_0,
              "q4_0": GGML_TYPE_Q4_0}


class GGUFError(Exception):
    """A value that cannot be written (bad type, shape or size), or a malformed file when reading."""


def ggml_type_from_name(name):
    """'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' -> GGML type number."""
    try:
        return TYPE_NAMES[name.lower()]
    except KeyError:
        raise GGUFError("unknown tensor type %r (expected f32, f16, bf16, q8_0 or q4_0)" % name) from None


def tensor_nbytes(ne, ggml_type):
    """Bytes of a tensor with dimensions ne (fastest first) and the given type."""
    n = 1
    for d in ne:
        n *= int(d)
    if ggml_type == GGML_TYPE_F32:
        return 4 * n
    if ggml_type in (GGML_TYPE_F16, GGML_TYPE_BF16):
        return 2 * n
    if ggml_type == GGML_TYPE_Q8_0:
        if not ne or int(ne[0]) % QK8_0 != 0:
            raise GGUFError("Q8_0 needs the first dimension to be a multiple of 32, got ne=%s" % list(ne))
        return n // QK8_0 * Q8_0_BLOCK_BYTES
    if ggml_type == GGML_TYPE_Q4_0:
        if not ne or int(ne[0]) % QK8_0 != 0:
            raise GGUFError("Q4_0 needs the first dimension to be a multiple of 32, got ne=%s" % list(ne))
        return n // QK8_0 * Q4_0_BLOCK_BYTES
    raise GGUFError("unsupported tensor type %d" % ggml_type)


def quantize_q8_0(x):
    """GGUF Q8_0 bytes of a float array whose size is a multiple of 32 (row-major order).

    Per block of 32: d = max|x| / 127 stored as f16, q = round(x / d) as int8 (round half away from
    zero, computed in float32 with the unrounded d, as ggml's reference quantizer does)."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, QK8_0)
    amax = np.max(np.abs(x), axis=1)
    d = amax / np.float32(127.0)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1.0) / np.where(d != 0, d, 1), 0).astype(np.float32)
    v = x * inv[:, None]
    q = (np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))).astype(np.int8)
    out = np.empty((x.shape[0], Q8_0_BLOCK_BYTES), dtype=np.uint8)
    out[:, :2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def quantize_q4_0(x):
    """GGUF Q4_0 bytes of a float array whose size is a multiple of 32 (row-major order).

    Per block of 32, as ggml's reference quantizer: m = the value of largest magnitude (its sign
    kept, the first one on ties), d = m / -8 stored as f16, codes q = min(15, floor(x / d + 8.5))
    computed in float32 with the unrounded d (round half up of x / d, then + 8); value d * (q - 8).
    Byte i of the 16 holds code i in its low nibble and code i + 16 in its high nibble."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, QK8_0)
    m = x[np.arange(x.shape[0]), np.argmax(np.abs(x), axis=1)]
    d = (m / np.float32(-8.0)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1.0) / np.where(d != 0, d, 1), 0).astype(np.float32)
    v = (x * inv[:, None]).astype(np.float32) + np.float32(8.5)
    q = np.minimum(np.float32(15), np.floor(v)).astype(np.uint8)
    out = np.empty((x.shape[0], Q4_0_BLOCK_BYTES), dtype=np.uint8)
    out[:, :2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


EMBEDDING_TENSORS = ("token_embd.weight", "output.weight")


def matrix_type(name, ggml_type):
    """Storage type of the large matrix `name` when the file asks for ggml_type: with Q4_0 the
    token embedding and the output projection stay at Q8_0 (they are read once per token and
    feed the logits directly; llama.cpp's Q4_0 files also keep the output at higher precision);
    every other matrix takes ggml_type."""
    if ggml_type == GGML_TYPE_Q4_0 and name in EMBEDDING_TENSORS:
        return GGML_TYPE_Q8_0
    return ggml_type


def parse_layout(layout):
    """A weight layout 'TYPE' or 'TYPE,PART=TYPE,...' -> (GGML type of the large matrices,
    [(PART, GGML type)]): the matrices whose name contains PART take that type (first match
    wins), the others TYPE as matrix_type says. E.g. 'q8_0,ffn_=q4_0': feed-forward matrices
    at 4 bits, attention, embedding and output at 8."""
    head, *rest = [p.strip() for p in str(layout).split(",")]
    rules = []
    for r in rest:
        part, sep, tname = r.partition("=")
        if not sep or not part:
            raise GGUFError("weight layout %r: %r is not PART=TYPE" % (layout, r))
        rules.append((part, ggml_type_from_name(tname)))
    return ggml_type_from_name(head), rules


def layout_type(name, layout):
    """Storage type of the large matrix `name` under a parsed layout (parse_layout)."""
    base, rules = layout
    for part, t in rules:
        if part in name:
            return t
    return matrix_type(name, base)


def to_bf16(x):
    """uint16 bfloat16 bits of float values: float32 rounded to nearest, ties to even (NaN kept)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    return np.where(nan, ((u >> 16) | 0x40).astype(np.uint16), r)


def from_bf16(h):
    """float32 values of uint16 bfloat16 bits (exact)."""
    return (np.asarray(h, dtype=np.uint32) << 16).view(np.float32)


def dequantize_q4_0(buf, n):
    """float32 values of n Q4_0-coded values in buf (bytes-like)."""
    blocks = np.frombuffer(buf, dtype=np.uint8, count=n // QK8_0 * Q4_0_BLOCK_BYTES).reshape(-1, Q4_0_BLOCK_BYTES)
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    q = np.concatenate([blocks[:, 2:] & 15, blocks[:, 2:] >> 4], axis=1).astype(np.float32) - 8
    return (q * d).reshape(-1)


def dequantize_q8_0(buf, n):
    """float32 values of n Q8_0-coded values in buf (bytes-like)."""
    blocks = np.frombuffer(buf, dtype=np.uint8, count=n // QK8_0 * Q8_0_BLOCK_BYTES).reshape(-1, Q8_0_BLOCK_BYTES)
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    q = blocks[:, 2:].copy().view(np.int8).astype(np.float32)
    return (q * d).reshape(-1)


def _pack_string(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


class _Tensor:
    __slots__ = ("name", "array", "ne", "ggml_type", "nbytes", "offset")

    def __init__(self, name, array, ne, ggml_type, nbytes):
        self.name = name            # tensor name
        self.array = array          # source data (numpy array or memmap), any float dtype
        self.ne = ne                # dimensions, fastest-varying first
        self.ggml_type = ggml_type  # GGML_TYPE_*
        self.nbytes = nbytes        # bytes in the data section
        self.offset = 0             # offset from the start of the data section


class GGUFWriter:
    """Collects metadata and tensors, then writes one GGUF v3 file."""

    def __init__(self, alignment=GGUF_DEFAULT_ALIGNMENT):
        if alignment <= 0 or alignment & (alignment - 1):
            raise GGUFError("alignment must be a power of two, got %d" % alignment)
        self.alignment = alignment  # bytes; written as general.alignment when not 32
        self.kv = []                # [(key, packed type + value bytes)]
        self.keys = set()           # keys added so far
        self.tensors = []           # [_Tensor] in file order
        self.names = set()          # tensor names added so far

    # ---- metadata ----
    def _add(self, key, packed):
        if key in self.keys:
            raise GGUFError("duplicate metadata key %r" % key)
        self.keys.add(key)
        self.kv.append((key, packed))

    def add_u32(self, key, v):
        if not 0 <= int(v) < 2 ** 32:
            raise GGUFError("%s: %r does not fit in u32" % (key, v))
        self._add(key, struct.pack("<II", GGUF_TYPE_UINT32, int(v)))

    def add_i32(self, key, v):
        if not -2 ** 31 <= int(v) < 2 ** 31:
            raise GGUFError("%s: %r does not fit in i32" % (key, v))
        self._add(key, struct.pack("<Ii", GGUF_TYPE_INT32, int(v)))

    def add_f32(self, key, v):
        self._add(key, struct.pack("<If", GGUF_TYPE_FLOAT32, float(v)))

    def add_bool(self, key, v):
        self._add(key, struct.pack("<IB", GGUF_TYPE_BOOL, 1 if v else 0))

    def add_string(self, key, s):
        self._add(key, struct.pack("<I", GGUF_TYPE_STRING) + _pack_string(s))

    def add_array_u32(self, key, values):
        vals = [int(v) for v in values]
        for v in vals:
            if not 0 <= v < 2 ** 32:
                raise GGUFError("%s: %r does not fit in u32" % (key, v))
        self._add(key, struct.pack("<IIQ", GGUF_TYPE_ARRAY, GGUF_TYPE_UINT32, len(vals))
                  + np.asarray(vals, dtype="<u4").tobytes())

    def add_array_i32(self, key, values):
        vals = [int(v) for v in values]
        for v in vals:
            if not -2 ** 31 <= v < 2 ** 31:
                raise GGUFError("%s: %r does not fit in i32" % (key, v))
        self._add(key, struct.pack("<IIQ", GGUF_TYPE_ARRAY, GGUF_TYPE_INT32, len(vals))
                  + np.asarray(vals, dtype="<i4").tobytes())

    def add_array_string(self, key, values):
        parts = [struct.pack("<IIQ", GGUF_TYPE_ARRAY, GGUF_TYPE_STRING, len(values))]
        parts.extend(_pack_string(s) for s in values)
        self._add(key, b"".join(parts))

    # ---- tensors ----
    def add_tensor(self, name, array, ggml_type=GGML_TYPE_F32):
        """Adds a tensor; array is numpy-shaped (slowest first), ne is its reversed shape."""
        if name in self.names:
            raise GGUFError("duplicate tensor %r" % name)
        if len(name.encode("utf-8")) >= 64:
            raise GGUFError("tensor name %r is 64 bytes or longer" % name)
        if array.ndim < 1 or array.ndim > 4:
            raise GGUFError("%s: %d dimensions (1 to 4 allowed)" % (name, array.ndim))
        ne = [int(d) for d in reversed(array.shape)]
        if ggml_type in (GGML_TYPE_Q8_0, GGML_TYPE_Q4_0) and ne[0] % QK8_0 != 0:
            raise GGUFError("%s: Q8_0/Q4_0 need ne[0] (%d) to be a multiple of %d" % (name, ne[0], QK8_0))
        self.names.add(name)
        self.tensors.append(_Tensor(name, array, ne, ggml_type, tensor_nbytes(ne, ggml_type)))

    def _tensor_bytes(self, t, rows_per_chunk):
        """Yields the encoded bytes of tensor t, a slab of rows at a time (bounded memory)."""
        a = t.array.reshape(-1, t.ne[0]) if t.array.ndim > 1 else t.array.reshape(1, -1)
        for r in range(0, a.shape[0], rows_per_chunk):
            chunk = np.asarray(a[r:r + rows_per_chunk])
            if t.ggml_type == GGML_TYPE_F32:
                yield np.ascontiguousarray(chunk, dtype="<f4").tobytes()
            elif t.ggml_type == GGML_TYPE_F16:
                yield np.ascontiguousarray(chunk.astype(np.float32), dtype="<f2").tobytes()
            elif t.ggml_type == GGML_TYPE_BF16:
                yield to_bf16(chunk).astype("<u2").tobytes()
            elif t.ggml_type == GGML_TYPE_Q4_0:
                yield quantize_q4_0(chunk)
            else:
                yield quantize_q8_0(chunk)

    def write(self, path, progress=None):
        """Writes the file. progress: optional callable(done_bytes, total_bytes, tensor_name)."""
        kv = list(self.kv)
        if self.alignment != GGUF_DEFAULT_ALIGNMENT and "general.alignment" not in self.keys:
            kv.append(("general.alignment", struct.pack("<II", GGUF_TYPE_UINT32, self.alignment)))
        al = self.alignment
        offset = 0
        for t in self.tensors:
            t.offset = offset
            offset += (t.nbytes + al - 1) // al * al
        total = offset
        with open(path, "wb") as f:
            f.write(GGUF_MAGIC + struct.pack("<IQQ", GGUF_VERSION, len(self.tensors), len(kv)))
            for key, packed in kv:
                f.write(_pack_string(key))
                f.write(packed)
            for t in self.tensors:
                f.write(_pack_string(t.name))
                f.write(struct.pack("<I", len(t.ne)))
                f.write(struct.pack("<%dQ" % len(t.ne), *t.ne))
                f.write(struct.pack("<IQ", t.ggml_type, t.offset))
            pad = (-f.tell()) % al
            f.write(b"\0" * pad)
            done = 0
            for t in self.tensors:
                rows = max(1, (1 << 22) // max(1, t.ne[0]))  # about 4M values per slab
                n = 0
                for b in self._tensor_bytes(t, rows):
                    f.write(b)
                    n += len(b)
                if n != t.nbytes:
                    raise GGUFError("%s: wrote %d bytes, expected %d" % (t.name, n, t.nbytes))
                f.write(b"\0" * ((-n) % al))
                done += (n + al - 1) // al * al
                if progress:
                    progress(done, total, t.name)


# ---- reader (for tests and checks; the engine has its own hardened loader) -------------------

def read_gguf(path):
    """Reads a GGUF v3 file. Returns (metadata dict, tensors dict name -> float32 numpy array in
    numpy shape, i.e. reversed ne; types dict name -> ggml type)."""
    data = open(path, "rb").read()
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(data):
            raise GGUFError("%s: truncated at byte %d" % (path, pos))
        b = data[pos:pos + n]
        pos += n
        return b

    def u32():
        return struct.unpack("<I", take(4))[0]

    def u64():
        return struct.unpack("<Q", take(8))[0]

    def string():
        return take(u64()).decode("utf-8")

    scalar = {GGUF_TYPE_UINT8: "<B", GGUF_TYPE_INT8: "<b", GGUF_TYPE_UINT16: "<H", GGUF_TYPE_INT16: "<h",
              GGUF_TYPE_UINT32: "<I", GGUF_TYPE_INT32: "<i", GGUF_TYPE_FLOAT32: "<f", GGUF_TYPE_BOOL: "<?",
              GGUF_TYPE_UINT64: "<Q", GGUF_TYPE_INT64: "<q", GGUF_TYPE_FLOAT64: "<d"}

    def value(t):
        if t == GGUF_TYPE_STRING:
            return string()
        if t == GGUF_TYPE_ARRAY:
            et = u32()
            return [value(et) for _ in range(u64())]
        if t not in scalar:
            raise GGUFError("%s: unknown metadata type %d" % (path, t))
        fmt = scalar[t]
        return struct.unpack(fmt, take(struct.calcsize(fmt)))[0]

    if take(4) != GGUF_MAGIC:
        raise GGUFError("%s: not a GGUF file" % path)
    version = u32()
    if version != GGUF_VERSION:
        raise GGUFError("%s: GGUF version %d, expected 3" % (path, version))
    n_tensors, n_kv = u64(), u64()
    meta = {}
    for _ in range(n_kv):
        k = string()
        meta[k] = value(u32())
    infos = []
    for _ in range(n_tensors):
        name = string()
        nd = u32()
        ne = [u64() for _ in range(nd)]
        infos.append((name, ne, u32(), u64()))
    al = int(meta.get("general.alignment", GGUF_DEFAULT_ALIGNMENT))
    base = (pos + al - 1) // al * al
    tensors, types = {}, {}
    for name, ne, t, off in infos:
        nb = tensor_nbytes(ne, t)
        start = base + off
        if start + nb > len(data):
            raise GGUFError("%s: tensor %s runs past the end of the file" % (path, name))
        n = nb // {GGML_TYPE_F32: 4, GGML_TYPE_F16: 2, GGML_TYPE_BF16: 2}.get(t, 1)
        if t == GGML_TYPE_F32:
            arr = np.frombuffer(data, dtype="<f4", count=n, offset=start).astype(np.float32)
        elif t == GGML_TYPE_F16:
            arr = np.frombuffer(data, dtype="<f2", count=n, offset=start).astype(np.float32)
        elif t == GGML_TYPE_BF16:
            arr = from_bf16(np.frombuffer(data, dtype="<u2", count=n, offset=start))
        else:
            n = 1
            for d in ne:
                n *= d
            deq = dequantize_q4_0 if t == GGML_TYPE_Q4_0 else dequantize_q8_0
            arr = deq(data[start:start + nb], n)
        tensors[name] = arr.reshape(list(reversed(ne)))
        types[name] = t
    return meta, tensors, types


# ---- the bd3lm model file (spec section 5) ----------------------------------------------------

EOS_TOKEN = "<|endoftext|>"
MASK_TOKEN = "<|mask|>"

# tensors that may be F16/Q8_0; everything else stays F32
_LARGE = ("token_embd.weight", "attn_qkv.weight", "attn_output.weight", "ffn_up.weight",
          "ffn_down.weight", "output.weight")


def bd3lm_tensor_shapes(n_vocab, n_embd, n_ff, n_layer):
    """Dict GGUF tensor name -> numpy shape (reversed ne) that spec section 5 requires."""
    V, D, F = n_vocab, n_embd, n_ff
    s = {"token_embd.weight": (V, D), "output_norm.weight": (D,), "output_modulation": (2, D),
         "output.weight": (V, D), "output.bias": (V,)}
    for i in range(n_layer):
        p = "blk.%d." % i
        s[p + "attn_norm.weight"] = (D,)
        s[p + "attn_qkv.weight"] = (3 * D, D)
        s[p + "attn_output.weight"] = (D, D)
        s[p + "ffn_norm.weight"] = (D,)
        s[p + "ffn_up.weight"] = (F, D)
        s[p + "ffn_up.bias"] = (F,)
        s[p + "ffn_down.weight"] = (D, F)
        s[p + "ffn_down.bias"] = (D,)
        s[p + "modulation"] = (6, D)
    return s


SAMPLER_KEYS = {"kind": "str", "steps": "u32", "top_k": "u32", "refresh": "u32",
                "threshold": "f32", "temperature": "f32", "top_p": "f32", "revise_fraction": "f32"}


def write_bd3lm(path, tensors, hparams, tokens, merges, wtype="f32", name="bd3lm", progress=None,
                sampler=None):
    """Writes a complete bd3lm GGUF file.

    tensors: dict GGUF name -> numpy array in numpy shape (see bd3lm_tensor_shapes); memmaps are fine.
    hparams: dict with n_ctx, n_embd, n_head, n_layer, optional n_ff (default 4*n_embd), norm_eps
             (1e-5), rope_base (10000), block_lengths (list, preferred first; n_ctx = global),
             mask_id (default: index of "<|mask|>" in tokens, else len(tokens)-1),
             eos_id / bos_id (default: index of "<|endoftext|>", omitted when absent).
    tokens:  list of token strings (GPT-2 byte-to-unicode mapped form; specials literal), id = index.
    merges:  list of "left right" strings, highest priority first.
    wtype:   'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' for the large matrices (norms, biases, modulation stay
             F32; with q4_0 the embedding and output stay Q8_0, see matrix_type), or a mixed
             layout such as 'q8_0,ffn_=q4_0' (parse_layout).
    sampler: optional dict of the model's own sampler defaults, written as bd3lm.sampler.KEY
             (keys and ranges: model/SAMPLER.md): kind, steps, top_k, refresh, threshold,
             temperature, top_p, revise_fraction.
    """
    layout = parse_layout(wtype)
    D = int(hparams["n_embd"])
    H = int(hparams["n_head"])
    L = int(hparams["n_layer"])
    n_ctx = int(hparams["n_ctx"])
    F = int(hparams.get("n_ff", 4 * D))
    V = len(tokens)
    if D <= 0 or H <= 0 or D % H or (D // H) % 2:
        raise GGUFError("n_embd %d must be a positive multiple of n_head %d with an even head size" % (D, H))
    if L <= 0 or n_ctx <= 0 or F <= 0:
        raise GGUFError("n_layer, n_ctx and n_ff must be positive")
    bl = [int(b) for b in hparams.get("block_lengths", [n_ctx])]
    if not bl or any(b <= 0 or b > n_ctx for b in bl):
        raise GGUFError("block_lengths %s must be non-empty and within 1..n_ctx" % bl)
    if "mask_id" in hparams:
        mask_id = int(hparams["mask_id"])
    elif MASK_TOKEN in tokens:
        mask_id = tokens.index(MASK_TOKEN)
    else:
        mask_id = V - 1
    if not 0 <= mask_id < V:
        raise GGUFError("mask_id %d outside the vocabulary of %d tokens" % (mask_id, V))
    eos_id = hparams.get("eos_id")
    if eos_id is None and EOS_TOKEN in tokens:
        eos_id = tokens.index(EOS_TOKEN)
    bos_id = hparams.get("bos_id", eos_id)

    want = bd3lm_tensor_shapes(V, D, F, L)
    missing = [k for k in want if k not in tensors]
    extra = [k for k in tensors if k not in want]
    if missing:
        raise GGUFError("missing tensors: %s" % ", ".join(missing[:8]))
    if extra:
        raise GGUFError("unexpected tensors: %s" % ", ".join(extra[:8]))
    for k, shape in want.items():
        if tuple(tensors[k].shape) != tuple(shape):
            raise GGUFError("%s has shape %s, expected %s" % (k, tuple(tensors[k].shape), tuple(shape)))

    w = GGUFWriter()
    w.add_string("general.architecture", "bd3lm")
    w.add_string("general.name", name)
    w.add_u32("bd3lm.context_length", n_ctx)
    w.add_u32("bd3lm.embedding_length", D)
    w.add_u32("bd3lm.feed_forward_length", F)
    w.add_u32("bd3lm.block_count", L)
    w.add_u32("bd3lm.attention.head_count", H)
    w.add_f32("bd3lm.attention.layer_norm_epsilon", hparams.get("norm_eps", 1e-5))
    w.add_f32("bd3lm.rope.freq_base", hparams.get("rope_base", 10000.0))
    w.add_array_u32("bd3lm.diffusion.block_lengths", bl)
    w.add_u32("bd3lm.diffusion.mask_token_id", mask_id)
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", "gpt2")
    w.add_array_string("tokenizer.ggml.tokens", tokens)
    w.add_array_string("tokenizer.ggml.merges", merges)
    if bos_id is not None:
        w.add_u32("tokenizer.ggml.bos_token_id", int(bos_id))
    if eos_id is not None:
        w.add_u32("tokenizer.ggml.eos_token_id", int(eos_id))

    for key, value in (sampler or {}).items():
        kind = SAMPLER_KEYS.get(key)
        if kind is None:
            raise GGUFError("unknown sampler default %r (known: %s)" % (key, ", ".join(SAMPLER_KEYS)))
        full = "bd3lm.sampler." + key
        if kind == "str":
            w.add_string(full, str(value))
        elif kind == "u32":
            w.add_u32(full, int(value))
        else:
            w.add_f32(full, float(value))

    order = ["token_embd.weight"]
    for i in range(L):
        p = "blk.%d." % i
        order += [p + s for s in ("attn_norm.weight", "attn_qkv.weight", "attn_output.weight",
                                  "ffn_norm.weight", "ffn_up.weight", "ffn_up.bias",
                                  "ffn_down.weight", "ffn_down.bias", "modulation")]
    order += ["output_norm.weight", "output_modulation", "output.weight", "output.bias"]
    for k in order:
        large = k.endswith(_LARGE)
        w.add_tensor(k, tensors[k], layout_type(k, layout) if large else GGML_TYPE_F32)
    w.write(path, progress=progress)


# ---- GPT-2 tokenizer files ---------------------------------------------------------------------

def read_gpt2_tokenizer(directory):
    """Reads GPT-2's vocab.json + merges.txt, or encoder.json + vocab.bpe, from directory.
    Returns (tokens, merges): tokens in id order (mapped form), merges highest priority first."""
    import json
    import os
    pairs = (("vocab.json", "merges.txt"), ("encoder.json", "vocab.bpe"))
    for vname, mname in pairs:
        vpath, mpath = os.path.join(directory, vname), os.path.join(directory, mname)
        if os.path.isfile(vpath) and os.path.isfile(mpath):
            break
    else:
        raise GGUFError("%s: no GPT-2 tokenizer files (need vocab.json + merges.txt or "
                        "encoder.json + vocab.bpe)" % directory)
    try:
        with open(vpath, encoding="utf-8") as f:
            vocab = json.load(f)
    except (OSError, ValueError) as e:
        raise GGUFError("%s: %s" % (vpath, e)) from None
    if not isinstance(vocab, dict) or not vocab:
        raise GGUFError("%s: expected a JSON object of token -> id" % vpath)
    n = len(vocab)
    tokens = [None] * n
    for tok, i in vocab.items():
        if not isinstance(i, int) or not 0 <= i < n or tokens[i] is not None:
            raise GGUFError("%s: ids are not exactly 0..%d (token %r has id %r)" % (vpath, n - 1, tok, i))
        tokens[i] = tok
    merges = []
    with open(mpath, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line or (lineno == 1 and line.startswith("#version")):
                continue
            parts = line.split(" ")
            if len(parts) != 2 or not parts[0] or not parts[1]:
                raise GGUFError("%s:%d: expected 'left right', got %r" % (mpath, lineno, line))
            merges.append(line)
    return tokens, merges


def _selftest():
    """Round-trips a tiny file through the writer and reader; prints 'ok'."""
    import os
    import tempfile
    rng = np.random.default_rng(0)
    w = GGUFWriter()
    w.add_u32("a.u32", 7)
    w.add_i32("a.i32", -3)
    w.add_f32("a.f32", 0.5)
    w.add_bool("a.bool", True)
    w.add_string("a.str", "héllo")
    w.add_array_u32("a.arr", [1, 2, 3])
    w.add_array_string("a.sarr", ["x", "Ġy"])
    x = rng.standard_normal((3, 64)).astype(np.float32)
    w.add_tensor("t32", x)
    w.add_tensor("t16", x, GGML_TYPE_F16)
    w.add_tensor("tq8", x, GGML_TYPE_Q8_0)
    xb = x.copy()
    xb[0, :4] = [1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8, -(1.0 + 2.0 ** -9), 3.0e38]  # ties, a half ulp below one, huge
    w.add_tensor("tbf16", xb, GGML_TYPE_BF16)
    path = os.path.join(tempfile.mkdtemp(), "t.gguf")
    w.write(path)
    meta, ts, _ = read_gguf(path)
    assert meta["a.u32"] == 7 and meta["a.i32"] == -3 and meta["a.bool"] is True
    assert meta["a.str"] == "héllo" and meta["a.arr"] == [1, 2, 3] and meta["a.sarr"] == ["x", "Ġy"]
    assert np.array_equal(ts["t32"], x)
    assert np.array_equal(ts["t16"], x.astype(np.float16).astype(np.float32))
    # bf16: the nearest value with 8 significant bits (ties to even), from the float32 bits
    b = ts["tbf16"]
    assert list(b[0, :3]) == [1.0, 1.0 + 2.0 ** -6, -1.0]
    assert np.all(np.abs(b - xb) <= np.abs(xb) * 2.0 ** -8) and np.all(b.view(np.uint32) & 0xFFFF == 0)
    err = np.max(np.abs(ts["tq8"] - x).reshape(-1, 32), axis=1)
    assert np.all(err <= np.max(np.abs(x).reshape(-1, 32), axis=1) / 127 * 0.51 + 1e-3)
    # mixed layouts: first matching part wins, the rest as matrix_type; bad layouts are refused
    lay = parse_layout("q8_0, ffn_=q4_0,attn_qkv=f16")
    assert layout_type("blk.3.ffn_up.weight", lay) == GGML_TYPE_Q4_0
    assert layout_type("blk.3.attn_qkv.weight", lay) == GGML_TYPE_F16
    assert layout_type("blk.3.attn_output.weight", lay) == GGML_TYPE_Q8_0
    assert layout_type("output.weight", parse_layout("q4_0")) == GGML_TYPE_Q8_0
    assert layout_type("blk.0.ffn_down.weight", parse_layout("q4_0")) == GGML_TYPE_Q4_0
    for bad in ("q8_0,ffn_", "q8_0,=q4_0", "q8_0,ffn_=q5_0", "q3"):
        try:
            parse_layout(bad)
            raise AssertionError("layout %r accepted" % bad)
        except GGUFError:
            pass
    print("ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        _selftest()
    else:
        sys.stderr.write("usage: gguf_writer.py --selftest (this module is a library)\n")
        sys.exit(2)
