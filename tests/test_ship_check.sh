#!/bin/sh
# Script test: model/train/ship_check.sh on random-weight fixtures and a small corpus: one line
# per file, mode and seed with the paired change, exit 0 when every change meets the target, 1
# when one does not, 2 for a missing candidate or corpus.
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
"$PYTHON" -c 'import numpy' 2>/dev/null || { echo "numpy missing"; exit 77; }
[ -x "$BUILD/bd3" ] || { echo "no $BUILD/bd3"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
"$PYTHON" -c "import sys; sys.path.insert(0, 'tests/ref'); import make_fixture as f
f.random_model(sys.argv[1], 300, 64, 4, 2, 64, 'f32', [16, 4, 64], 5)
f.random_model(sys.argv[2], 300, 64, 4, 2, 64, 'f32', [16, 4, 64], 6)" "$T/ref.gguf" "$T/cand.gguf" ||
    { echo "cannot make the fixtures"; exit 1; }
mkdir "$T/corpus"
for f in wikipedia gutenberg_modern gutenberg_classic; do
    "$PYTHON" -c 'import sys, random
r = random.Random(sys.argv[1]); w = ["the", "rain", "in", "spain", "stays", "mainly", "on", "plain"]
print(" ".join(r.choice(w) for _ in range(200)))' "$f" | xz -c > "$T/corpus/$f.valid.txt.xz"
done
echo "a text from outside the corpus, on the plain" > "$T/outside.txt"
run() { BD3=$BUILD/bd3 REF=$T/ref.gguf CORPUS=$T/corpus ROWS=2 SEEDS="1 2" THREADS=1 sh model/train/ship_check.sh "$@" > "$T/out" 2> "$T/err"; }
TARGET=100 run "$T/cand.gguf" "$T/outside.txt"
[ $? -eq 0 ] || fail "target 100%: exit $? ($(cat "$T/err"))"
[ "$(grep -c ' ok$' "$T/out")" -eq 16 ] || fail "expected 16 lines (4 files x 2 modes x 2 seeds): $(cat "$T/out")"
# each line's change is the paired change of `bd3 ppl --ref` for that file, mode and seed
"$BUILD/bd3" ppl -q -t 1 --rows 2 --seed 2 --mode global -m "$T/cand.gguf" --ref "$T/ref.gguf" "$T/outside.txt" > "$T/direct"
want=$(sed -n 's/^change_bpb //p' "$T/direct")
grep -q "^outside.txt  *global  *2 .* $want " "$T/out" || fail "outside.txt global seed 2 is not $want: $(cat "$T/out")"
TARGET=-100 run "$T/cand.gguf"
[ $? -eq 1 ] || fail "target -100%: wanted exit 1"
grep -q "verdict: short" "$T/out" || fail "no short verdict"
TARGET=100 run "$T/absent.gguf"
[ $? -eq 2 ] || fail "absent candidate: wanted exit 2"
BD3=$BUILD/bd3 CORPUS=$T/nothing sh model/train/ship_check.sh "$T/cand.gguf" > /dev/null 2>&1
[ $? -eq 2 ] || fail "absent corpus: wanted exit 2"
[ $fails -eq 0 ] && echo ok || { echo "$fails failure(s)"; exit 1; }
