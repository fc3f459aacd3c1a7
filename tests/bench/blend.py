#!/usr/bin/env python3
# blend.py: rewrites a bd3lm GGUF file with its weights averaged with another file of the same
# shape and/or its logits divided by a temperature (output layer scaled), metadata copied byte
# for byte, for figures of such free changes with `bd3 ppl --ref` (not a test; nothing is
# asserted). Depends on numpy, gguf_writer.py and retype.py.
"""usage: blend.py IN.gguf OUT.gguf [--with OTHER.gguf --alpha A] [--temperature T] [--type LAYOUT]

OUT = A * IN + (1 - A) * OTHER for every tensor, then output.weight and output.bias divided by T.
Matrices are written as LAYOUT (default q8_0), the rest as float32.
Then e.g.: build/bd3 ppl --mode block:16 --rows 12 -m OUT.gguf --ref IN.gguf FILE
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "model", "convert"))
import gguf_writer as g  # noqa: E402
import retype  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--with", dest="other", default=None, help="a second file of the same shape")
    ap.add_argument("--alpha", type=float, default=1.0, help="weight of src in the average")
    ap.add_argument("--temperature", type=float, default=1.0, help="divides the logits")
    ap.add_argument("--type", default="q8_0", help="layout of the matrices (gguf_writer.parse_layout)")
    a = ap.parse_args()
    if not a.temperature > 0:
        ap.error("--temperature must be positive")
    layout = g.parse_layout(a.type)
    _, tensors, _ = g.read_gguf(a.src)
    other = g.read_gguf(a.other)[1] if a.other else None
    w = g.GGUFWriter()
    for key, packed in retype.raw_metadata(open(a.src, "rb").read()):
        if key != "general.alignment":
            w._add(key, packed)
    for name, x in tensors.items():
        if other is not None:
            if other[name].shape != x.shape:
                ap.error("%s: shape %s in %s, %s in %s" % (name, x.shape, a.src, other[name].shape, a.other))
            x = a.alpha * x + (1.0 - a.alpha) * other[name]
        if name in ("output.weight", "output.bias"):
            x = x / a.temperature
        x = np.asarray(x, dtype=np.float32)
        matrix = x.ndim == 2 and name.endswith(".weight")
        w.add_tensor(name, x, g.layout_type(name, layout) if matrix else g.GGML_TYPE_F32)
    w.write(a.dst)
    print("blend.py: wrote %s" % a.dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
