#!/bin/sh
# Script test: the Python GGUF writer round-trips metadata and F32/F16/Q8_0 tensors through its reader.
PYTHON=${PYTHON:-/usr/bin/python3}
"$PYTHON" -c 'import numpy' 2>/dev/null || { echo "numpy missing"; exit 77; }
exec "$PYTHON" model/convert/gguf_writer.py --selftest
