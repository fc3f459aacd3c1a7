#!/bin/sh
# Script test: tests/bench/cpu_bundle.sh makes a bundle that runs from a copy elsewhere with an
# empty environment, loading the C library and OpenBLAS from the bundle, not from this system.
BUILD=${BUILD:-build}
[ -x "$BUILD/bd3" ] && [ -x "$BUILD/tests/test_quant" ] || { echo "build bd3 and test_quant first"; exit 1; }
command -v xz >/dev/null 2>&1 || { echo "xz missing"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
XZ_OPT=-0 BUILD=$BUILD sh tests/bench/cpu_bundle.sh "$T/made" > "$T/log" 2>&1 || fail "cpu_bundle.sh: $(cat "$T/log")"
cp -r "$T/made" "$T/copy" && rm -rf "$T/made"
B=$T/copy
for f in bd3 run.sh ld-linux-x86-64.so.2 libopenblas.so.0.xz tests/test_quant; do
    [ -e "$B/$f" ] || fail "the bundle lacks $f"
done
[ -e "$B/libc.so.6" ] || [ -e "$B/libc.so.6.xz" ] || fail "the bundle lacks libc.so.6"
# bd3 from the copy, nothing from the environment; the libraries it loads are the copy's
out=$(cd / && env -i LD_DEBUG=libs /bin/sh "$B/run.sh" bd3 --version 2>"$T/libs")
[ "${out%% *}" = "bd3" ] || fail "run.sh bd3 --version printed '$out'"
for lib in libc.so.6 libopenblas.so.0 libm.so.6; do
    grep -q "calling init: $B/$lib\$" "$T/libs" || fail "$lib was not loaded from the bundle"
done
[ -f "$B/libopenblas.so.0" ] || fail "run.sh did not unpack libopenblas.so.0"
# a bundled test program, and the summary line
out=$(cd / && env -i /bin/sh "$B/run.sh" tests test_quant 2>&1)
printf '%s\n' "$out" | grep -q "^bundle: 1 passed, 0 failed$" || fail "run.sh tests test_quant: $(printf '%s' "$out" | tail -n 5)"
out=$(cd / && env -i /bin/sh "$B/run.sh" tests test_absent 2>&1)
printf '%s\n' "$out" | grep -q "^bundle: 0 passed, 1 failed$" || fail "a test program absent from the bundle passed"
(cd / && env -i /bin/sh "$B/run.sh" bogus > /dev/null 2>&1) && fail "run.sh accepted an unknown mode"
# the scaling mode on a small model: the CPU, the kernels, one bench per thread count, a summary
M=$BUILD/fixtures/ops_f32.gguf
if [ -f "$M" ]; then
    M=$(cd "$(dirname "$M")" && pwd)/$(basename "$M")
    out=$(cd / && env -i KERNEL_SECONDS=0.001 /bin/sh "$B/run.sh" scaling "$M" "1 2" 2>&1) || fail "run.sh scaling failed: $(printf '%s' "$out" | tail -n 5)"
    for w in "^== cpu" "^vector extensions:" "^== quant_isa" "gave the same floats" "^threads 1, usable CPUs" "^threads 2, usable CPUs"; do
        printf '%s\n' "$out" | grep -q -- "$w" || fail "run.sh scaling output lacks '$w'"
    done
    rows=$(printf '%s\n' "$out" | sed -n '/^== summary/,$p' | grep -c '^ *[12]  *[0-9.][0-9.]*  *[0-9.][0-9.]*  *[0-9.][0-9.]*  *[0-9.][0-9.]*$')
    [ "$rows" = 2 ] || fail "run.sh scaling summary has $rows rows of figures, not 2: $(printf '%s' "$out" | tail -n 4)"
fi
[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "cpu bundle checks passed"
