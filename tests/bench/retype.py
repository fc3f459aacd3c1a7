#!/usr/bin/env python3
# retype.py: rewrites a bd3lm GGUF file with its matrices (2-D tensors named *.weight) stored in
# another type, metadata copied byte for byte, for speed and accuracy figures of one model in
# several weight types (not a test; nothing is asserted). Depends on numpy and gguf_writer.py.
"""usage: retype.py IN.gguf OUT.gguf --type f32|f16|bf16|q8_0|q4_0|LAYOUT

Values are read as float32 (Q8_0/Q4_0 dequantized exactly) and written as --type rounds them.
LAYOUT: a mixed layout as gguf_writer.parse_layout reads it, e.g. q8_0,ffn_=q4_0 (feed-forward
matrices at 4 bits, the rest at 8). Then e.g.: build/bd3 bench -m OUT.gguf --compute f32
"""

import argparse
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "model", "convert"))
import gguf_writer as g  # noqa: E402

SCALAR_BYTES = {g.GGUF_TYPE_UINT8: 1, g.GGUF_TYPE_INT8: 1, g.GGUF_TYPE_UINT16: 2, g.GGUF_TYPE_INT16: 2,
                g.GGUF_TYPE_UINT32: 4, g.GGUF_TYPE_INT32: 4, g.GGUF_TYPE_FLOAT32: 4, g.GGUF_TYPE_BOOL: 1,
                g.GGUF_TYPE_UINT64: 8, g.GGUF_TYPE_INT64: 8, g.GGUF_TYPE_FLOAT64: 8}


def raw_metadata(data):
    """[(key, packed type + value bytes)] of a GGUF v3 file, in order."""
    n_kv = struct.unpack_from("<Q", data, 16)[0]
    pos = 24

    def skip_value(p, t):
        if t == g.GGUF_TYPE_STRING:
            return p + 8 + struct.unpack_from("<Q", data, p)[0]
        if t == g.GGUF_TYPE_ARRAY:
            et, n = struct.unpack_from("<IQ", data, p)
            p += 12
            if et in SCALAR_BYTES:
                return p + n * SCALAR_BYTES[et]
            for _ in range(n):
                p = skip_value(p, et)
            return p
        return p + SCALAR_BYTES[t]

    out = []
    for _ in range(n_kv):
        klen = struct.unpack_from("<Q", data, pos)[0]
        key = data[pos + 8:pos + 8 + klen].decode("utf-8")
        vstart = pos + 8 + klen
        t = struct.unpack_from("<I", data, vstart)[0]
        pos = skip_value(vstart + 4, t)
        out.append((key, data[vstart:pos]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--type", required=True, help="a type (%s) or a mixed layout" % ", ".join(sorted(g.TYPE_NAMES)))
    a = ap.parse_args()
    try:
        layout = g.parse_layout(a.type)
    except g.GGUFError as e:
        ap.error(str(e))
    data = open(a.src, "rb").read()
    _, tensors, _ = g.read_gguf(a.src)
    w = g.GGUFWriter()
    for key, packed in raw_metadata(data):
        if key != "general.alignment":
            w._add(key, packed)
    for name, arr in tensors.items():
        matrix = arr.ndim == 2 and name.endswith(".weight")
        w.add_tensor(name, arr, g.layout_type(name, layout) if matrix else g.GGML_TYPE_F32)
    w.write(a.dst)
    print("retype.py: wrote %s (%.1f MB, %s matrices)" % (a.dst, os.path.getsize(a.dst) / 1e6, a.type))
    return 0


if __name__ == "__main__":
    sys.exit(main())
