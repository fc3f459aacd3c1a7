#!/bin/sh
# Script test: the trainer's CPU tests (2L training mask, network vs spec, noise, GGUF export).
# Skips (77) when the Python used by the tests has no torch. Uses $BUILD/bd3 when it is built.
PYTHON=${PYTHON:-/usr/bin/python3}
"$PYTHON" -c 'import torch, numpy' 2>/dev/null || { echo "torch or numpy missing"; exit 77; }
exec "$PYTHON" model/train/test_train.py
