#!/bin/sh
# cpu_bundle.sh OUTDIR: copies bd3, the engine's test programs and their fixtures, and every shared
# library they load (the C library and its loader included) into OUTDIR, with OUTDIR/run.sh, so
# that they run on another x86-64 Linux machine whatever its glibc and without OpenBLAS or cmocka.
# Build first: make && make test-bin (and make check once, for the fixtures). BUILD: build folder.
set -eu
BUILD=${BUILD:-build}
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
OUT=$1
PROGRAMS="bd3"
# engine tests: instruction-set variants, threads, forward pass against float64 references
TESTS="test_quant test_bf16 test_kernels test_pool test_forward test_ops test_fit test_infill_cache test_prenorm"
[ -x "$BUILD/bd3" ] || { echo "$BUILD/bd3 not built (make)" >&2; exit 1; }
mkdir -p "$OUT/tests"
cp "$BUILD/bd3" "$OUT/bd3"
bins="$OUT/bd3"
# the int8 product's speed per instruction set (tests/bench/quant_isa.c), built here from the
# sources, with plain optimisation whatever flags BUILD was made with
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wno-psabi -Imodel -o "$OUT/quant_isa" tests/bench/quant_isa.c model/quant.c \
    model/kernels.c -lm
bins="$bins $OUT/quant_isa"
for t in $TESTS; do
    if [ -x "$BUILD/tests/$t" ]; then
        cp "$BUILD/tests/$t" "$OUT/tests/$t"
        bins="$bins $OUT/tests/$t"
    else
        echo "note: $BUILD/tests/$t not built (make test-bin); left out" >&2
    fi
done
# debug information is not needed there and is most of the size
if command -v strip >/dev/null 2>&1; then
    for b in $bins; do strip --strip-debug "$b"; done
fi
# fixtures: the small models and float64 reference logits the tests read ($BUILD/fixtures)
if [ -d "$BUILD/fixtures" ]; then
    mkdir -p "$OUT/fixtures"
    find "$BUILD/fixtures" -maxdepth 1 -type f ! -name '*.tmp' -exec cp {} "$OUT/fixtures/" \;
else
    echo "note: $BUILD/fixtures absent (make check creates it); the tests that read it will fail" >&2
fi
# every library any program loads, under the name the loader asks for (ldd's left column)
libs=$(for b in $bins; do ldd "$b"; done | awk '
    $2 == "=>" && $3 ~ /^\// { print $1 " " $3; next }
    $1 ~ /^\// && $1 ~ /ld-linux/ { n = split($1, p, "/"); print p[n] " " $1 }' | sort -u)
[ -n "$libs" ] || { echo "ldd found no libraries" >&2; exit 1; }
echo "$libs" | while read -r name path; do
    real=$(readlink -f "$path")
    rm -f "$OUT/$name" "$OUT/$name.xz"
    if [ "$(wc -c < "$real")" -gt 1048576 ] && [ "$name" != "ld-linux-x86-64.so.2" ]; then
        xz -T1 -c "$real" > "$OUT/$name.xz" # level 6 unless XZ_OPT says otherwise; unpacked by run.sh
    else
        cp "$real" "$OUT/$name"
    fi
done
[ -f "$OUT/ld-linux-x86-64.so.2" ] || { echo "the dynamic loader was not found by ldd" >&2; exit 1; }

cat > "$OUT/run.sh" <<'EOF'
#!/bin/sh
# Runs the bundled bd3 and engine tests with the bundled C library and loader.
#   sh run.sh tests [NAME...]            the bundled test programs (all, or those named, e.g.
#                                        test_quant); ends "bundle: N passed, N failed"
#   sh run.sh bd3 ARGS...                bd3 itself (e.g. bd3 bench -m MODEL -t 16)
#   sh run.sh cpu                        the CPU: lscpu (or /proc/cpuinfo) and its vector extensions
#   sh run.sh kernels [SECONDS]          int8 product GOP/s on one thread per instruction set
#   sh run.sh scaling MODEL "1 2 4 8 16" [BENCH ARGS...]
#                                        the CPU and kernels, then bd3 bench -q -t N -m MODEL for each N
# BD3_MAX_ISA=avx2 (or avx-vnni, avx512, portable) before any of these caps the kernels' instruction
# set, to compare them on one machine; bd3 bench names the one in use.
# KERNEL_SECONDS: seconds per figure of quant_isa in the scaling mode (default 0.1).
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
# unpack the compressed libraries once
for z in "$DIR"/*.xz; do
    [ -f "$z" ] || continue
    lib=${z%.xz}
    [ -f "$lib" ] && continue
    if command -v xz >/dev/null 2>&1; then
        xz -dc "$z" > "$lib.tmp" && mv "$lib.tmp" "$lib" || { echo "cannot unpack $z" >&2; exit 1; }
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import lzma, sys; open(sys.argv[2], "wb").write(lzma.open(sys.argv[1]).read())' \
            "$z" "$lib.tmp" && mv "$lib.tmp" "$lib" || { echo "cannot unpack $z" >&2; exit 1; }
    else
        echo "cannot unpack $z: neither xz nor python3 here" >&2; exit 1
    fi
done
run() { # run PROGRAM ARGS...: through the bundled loader, libraries from DIR only
    prog=$1; shift
    "$DIR/ld-linux-x86-64.so.2" --library-path "$DIR" "$prog" "$@"
}
cpu() {
    echo "== cpu"
    if command -v lscpu >/dev/null 2>&1; then lscpu; else grep -m1 'model name' /proc/cpuinfo; fi
    echo "CPUs: $(grep -c '^processor' /proc/cpuinfo) listed, $(nproc 2>/dev/null || echo ?) usable by this process"
    printf 'vector extensions:'
    for f in avx2 fma f16c avx_vnni avx512f avx512bw avx512vl avx512_vnni avx512_bf16 amx_int8 amx_bf16; do
        grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -qx "$f" && printf ' %s' "$f"
    done
    echo
    echo "C library bundled: $(run "$DIR/libc.so.6" 2>/dev/null | head -n 1)"
}
cmd=${1:-tests}
[ $# -gt 0 ] && shift
case $cmd in
tests)
    pass=0; fail=0; failed=""
    if [ $# -gt 0 ]; then list=$(for n in "$@"; do echo "$DIR/tests/$n"; done); else list=$(ls "$DIR"/tests/test_*); fi
    for t in $list; do
        name=$(basename "$t")
        [ -x "$t" ] || { echo "no test program $name in the bundle"; fail=$((fail + 1)); failed="$failed $name"; continue; }
        echo "== $name"
        if [ "$name" = test_forward ]; then
            (cd "$DIR" && BUILD="$DIR" run "$t" "$DIR/fixtures")
        else
            (cd "$DIR" && BUILD="$DIR" run "$t")
        fi
        if [ $? -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); failed="$failed $name"; fi
    done
    [ -n "$failed" ] && echo "failed:$failed"
    echo "bundle: $pass passed, $fail failed"
    [ $fail -eq 0 ] ;;
bd3)
    run "$DIR/bd3" "$@" ;;
cpu)
    cpu ;;
kernels)
    run "$DIR/quant_isa" "$@" ;;
scaling)
    [ $# -ge 2 ] || { echo "usage: sh run.sh scaling MODEL \"1 2 4 8 16\" [BENCH ARGS...]" >&2; exit 2; }
    model=$1; threads=$2; shift 2
    [ -r "$model" ] || { echo "cannot read $model" >&2; exit 1; }
    cpu
    echo "== quant_isa"
    run "$DIR/quant_isa" "${KERNEL_SECONDS:-0.1}"
    status=0
    summary="threads  sgemm GFLOP/s  forward GFLOP/s  continue tokens/s (cache)  (no cache)"
    for n in $threads; do
        echo "== bd3 bench -q -t $n -m $model $*"
        out=$(run "$DIR/bd3" bench -q -t "$n" -m "$model" "$@") || status=1
        printf '%s\n' "$out"
        summary="$summary
$(printf '%s\n' "$out" | awk -v n="$n" '$1 == "sgemm" { s = $2 } $1 == "forward" && $3 == "GFLOP/s," { f = $2 }
    $1 == "continue" && $3 == "tokens/s" { c = $2; u = $7 }
    END { printf "%7s  %13s  %15s  %25s  %10s", n, s, f, c, u }')"
    done
    echo "== summary (the lines above are the figures)"
    printf '%s\n' "$summary"
    exit $status ;;
*)
    echo "usage: sh run.sh [tests [NAME...] | bd3 ARGS... | cpu | kernels [SECONDS] | scaling MODEL \"N...\" [BENCH ARGS...]]" >&2
    exit 2 ;;
esac
EOF
chmod +x "$OUT/run.sh"
echo "bundle in $OUT: $(du -sk "$OUT" | cut -f1) KiB (large libraries xz-compressed); on the other machine: sh run.sh"
