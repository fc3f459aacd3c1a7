#!/bin/sh
# Script test: model/train/device.sh's sweep and compare phases on the CPU with the toy
# configuration: two candidates (one from a GGUF file removed after the launch, one from fresh
# weights with arguments of its own) trained one after another, exported, and compared with the
# reference on the same masks.
# Skips (77) when the Python used by the tests has no torch.
PYTHON=${PYTHON:-/usr/bin/python3}
"$PYTHON" -c 'import torch, numpy' 2>/dev/null || { echo "torch or numpy missing"; exit 77; }
set -e
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/corpus"
ln -s "$(command -v "$PYTHON")" "$tmp/bin/python3"   # device.sh runs python3
export PATH="$tmp/bin:$PATH" W="$tmp/w" TOK=bytes OUT="$tmp/out" ROWS=2
# a small corpus in the layout `train.py prepare` reads
for f in wikipedia gutenberg_modern gutenberg_classic; do
    for part in train valid; do
        "$PYTHON" -c 'import sys, random
r = random.Random(sys.argv[1]); w = ["the", "a", "model", "text", "of", "and", "writes", "line"]
print("\n".join(" ".join(r.choice(w) for _ in range(12)) for _ in range(900)))' "$f$part" |
            xz -c > "$tmp/corpus/$f.$part.txt.xz"
    done
done
python3 model/train/train.py prepare --tokenizer bytes --corpus "$tmp/corpus" --out "$W/data" >/dev/null
python3 model/train/train.py train --config toy --data "$W/data" --work "$W/ref" --steps 5 --mix 4:2,16:2,g:2 \
    --eval-every-s 0 --ckpt-every-s 0 --quick-rows 2 --no-compile >/dev/null
python3 model/train/train.py export --config toy --ckpt "$W/ref/final.pt" --weights model --out "$tmp/ref.gguf" >/dev/null
cp "$tmp/ref.gguf" "$tmp/start.gguf"
sh model/train/device.sh sweep 2 a:toy:"$tmp/start.gguf" b:toy:-:--log-every=1,--lr=1e-4 -- --mix 4:2,16:2,g:2 \
    --eval-every-s 0 --ckpt-every-s 0 --quick-rows 2 --no-compile >/dev/null
rm "$tmp/start.gguf"
REF="$tmp/ref.gguf" sh model/train/device.sh compare 1 a b missing > "$tmp/compare.log"
# `wait` on the sweep shows its log and the newest candidate's (b trained last)
sh model/train/device.sh wait 0 sweep 3 > "$tmp/wait.log" 2>/dev/null
# (a step line: b logs every step, and the sweep's own log keeps only each run's last 4 lines)
grep -q "^[0-9:]* step [0-9]* .* lr " "$tmp/wait.log" ||
    { echo "wait sweep does not show the last candidate"; cat "$tmp/wait.log"; exit 1; }
grep -q "sweep: done" "$W/sweep.log" || { echo "sweep did not finish"; cat "$W/sweep.log"; exit 1; }
grep -q "initialised from $W/init/start.gguf" "$W/a.log" || { echo "a did not start from its file"; exit 1; }
[ -f "$W/a.gguf" ] && [ -f "$W/b.gguf" ] || { echo "missing export"; exit 1; }
# b's own arguments come after the common ones: it logs every step, at its own peak lr
grep -q "^[0-9:]* step 1 .* lr [0-9.e+-]*" "$W/b.log" || { echo "b's own arguments not applied"; exit 1; }
grep -q "^[0-9:]* step 1 " "$W/a.log" && { echo "a took b's arguments"; exit 1; }
# reference plus two candidates: two change columns on every line of the table
n=$(grep -c '^wikipedia .*%.*%' "$W/sweep.eval.log" || true)
[ "$n" -eq 3 ] || { echo "expected 3 wikipedia rows with two changes, got $n"; cat "$W/sweep.eval.log"; exit 1; }
# and the rows of training text beside them (TRAIN_ROWS, default 64: as many as the toy stream has)
n=$(grep -c '^train .*%.*%' "$W/sweep.eval.log" || true)
[ "$n" -eq 3 ] || { echo "expected 3 train rows with two changes, got $n"; cat "$W/sweep.eval.log"; exit 1; }
tar tzf "$OUT/sweep.tgz" | grep -q '^a.log$' || { echo "a.log not returned"; exit 1; }
# a malformed candidate is refused before anything starts
if sh model/train/device.sh sweep 2 nocolon 2>/dev/null; then echo "bad candidate accepted"; exit 1; fi
if sh model/train/device.sh sweep 2 ../x:toy:- 2>/dev/null; then echo "run name with a slash accepted"; exit 1; fi
if sh model/train/device.sh sweep 2 x:toy:"$tmp/absent.gguf" 2>/dev/null; then echo "absent file accepted"; exit 1; fi
echo ok
