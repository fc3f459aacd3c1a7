#!/bin/sh
# ship_check.sh: the engine's verdict on a candidate default model: `bd3 ppl --ref` against the
# shipped model on the validation files (and any outside texts given), block:16 and global, same
# rows and masks for both, and whether every change of bits per byte reaches the target.
#   sh model/train/ship_check.sh CANDIDATE.gguf [OUTSIDE.txt ...]
# Environment: BD3 (default build/bd3), REF (model/default.gguf), CORPUS (../shared/corpus),
# ROWS (rows per file, default 64; 0: all), SEEDS (default "1"), TARGET (percent, default -8),
# THREADS (default: all CPUs). Prints one line per file, mode and seed, then the verdict; exits 0
# when every line meets the target, 1 when one does not, 2 on a usage or evaluation error.
set -u
cand=${1:?usage: ship_check.sh CANDIDATE.gguf [OUTSIDE.txt ...]}
shift
BD3=${BD3:-build/bd3}
REF=${REF:-model/default.gguf}
CORPUS=${CORPUS:-../shared/corpus}
ROWS=${ROWS:-64}
SEEDS=${SEEDS:-1}
TARGET=${TARGET:--8}
[ -x "$BD3" ] || { echo "ship_check: no $BD3 (make first)" >&2; exit 2; }
[ -f "$cand" ] || { echo "ship_check: no file $cand" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
files=
for f in wikipedia gutenberg_modern gutenberg_classic; do
    src=$CORPUS/$f.valid.txt.xz
    [ -f "$src" ] || { echo "ship_check: no $src (set CORPUS)" >&2; exit 2; }
    xz -dc "$src" > "$tmp/$f.valid.txt" || exit 2
    files="$files $tmp/$f.valid.txt"
done
for f in "$@"; do
    [ -f "$f" ] || { echo "ship_check: no file $f" >&2; exit 2; }
    files="$files $f"
done
rows=
[ "$ROWS" -gt 0 ] && rows="--rows $ROWS"
printf '%-28s %-9s %4s %9s %9s %9s %8s\n' file mode seed ref_bpb bpb change se
verdict=0
for f in $files; do
    for mode in block:16 global; do
        for seed in $SEEDS; do
            # shellcheck disable=SC2086
            "$BD3" ppl -q ${THREADS:+-t $THREADS} $rows --seed "$seed" --mode "$mode" -m "$cand" --ref "$REF" "$f" \
                > "$tmp/out" 2> "$tmp/err" || { echo "ship_check: $(cat "$tmp/err")" >&2; exit 2; }
            v() { sed -n "s/^$1 //p" "$tmp/out" | tr -d '%'; }
            chg=$(v change_bpb)
            se=$(v change_se)
            ok=$(awk -v c="$chg" -v t="$TARGET" 'BEGIN { print (c <= t) ? "ok" : "short" }')
            [ "$ok" = ok ] || verdict=1
            printf '%-28s %-9s %4s %9s %9s %8s%% %7s%% %s\n' "$(basename "$f")" "$mode" "$seed" "$(v ref_bpb)" \
                "$(v bpb)" "$chg" "${se:-?}" "$ok"
        done
    done
done
if [ $verdict -eq 0 ]; then echo "verdict: every change at or below $TARGET%"; else echo "verdict: short of $TARGET%"; fi
exit $verdict
