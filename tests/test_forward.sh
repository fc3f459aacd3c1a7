#!/bin/sh
# Script test: builds small random-weight models and float64 reference logits
# (tests/ref/make_fixture.py) into $BUILD/fixtures, then checks the engine against them
# ($BUILD/tests/test_forward).
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
"$PYTHON" -c 'import numpy' 2>/dev/null || { echo "numpy missing"; exit 77; }
[ -x "$BUILD/tests/test_forward" ] || { echo "$BUILD/tests/test_forward not built"; exit 1; }
"$PYTHON" tests/ref/make_fixture.py "$BUILD/fixtures" || exit 1
exec "$BUILD/tests/test_forward" "$BUILD/fixtures"
