#!/bin/sh
# Script test: every bd3 subcommand on a small random-weight fixture model: exact output formats,
# determinism per seed, exit codes and messages for bad arguments.
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
BD3=$BUILD/bd3
"$PYTHON" -c 'import numpy' 2>/dev/null || { echo "numpy missing"; exit 77; }
[ -x "$BD3" ] || { echo "no $BD3"; exit 1; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
M=$BUILD/fixtures/ops_f32.gguf
if [ ! -f "$M" ]; then
    mkdir -p "$BUILD/fixtures" &&
    "$PYTHON" -c "import sys; sys.path.insert(0, 'tests/ref'); import make_fixture as f; f.random_model(sys.argv[1] + '.tmp', 300, 64, 4, 2, 64, 'f32', [4, 8, 64], 5)" "$M" &&
    mv "$M.tmp" "$M" || { echo "cannot make the fixture"; exit 1; }
fi

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
# expect_rc RC DESCRIPTION CMD...: runs CMD with stdout/stderr in $T/out, $T/err.
expect_rc() {
    want=$1; what=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ $rc -eq "$want" ]; then ok "$what"; else fail "$what (exit $rc, wanted $want): $(head -c 300 "$T/err")"; fi
}
err_has() { grep -q -- "$1" "$T/err" || fail "stderr lacks '$1': $(head -c 300 "$T/err")"; }
out_has() { grep -q -- "$1" "$T/out" || fail "stdout lacks '$1'"; }

# ---- help, usage errors --------------------------------------------------------------------
expect_rc 0 "--help" "$BD3" --help
for c in info tokenize logits generate infill score ppl bench; do out_has "$c"; done
expect_rc 2 "no command" "$BD3"
expect_rc 2 "unknown command" "$BD3" frobnicate
err_has "unknown command 'frobnicate'"
expect_rc 2 "unknown option" "$BD3" tokenize -m "$M" --bogus
err_has "unknown option --bogus"
expect_rc 2 "option of another command" "$BD3" tokenize -m "$M" --stream
err_has "does not apply"
expect_rc 2 "bad number" "$BD3" generate -m "$M" --steps abc
err_has "expected an integer"
expect_rc 2 "bad sampler" "$BD3" generate -m "$M" --sampler nope
err_has "unknown sampler"
expect_rc 2 "bad top-p" "$BD3" generate -m "$M" --top-p 1.5
expect_rc 0 "subcommand --help" "$BD3" ppl --help
out_has "usage: bd3 ppl"
expect_rc 1 "missing model file" "$BD3" info -m "$T/none.gguf"
err_has "none.gguf"
printf 'not a model' >"$T/bad.gguf"
expect_rc 1 "malformed model file" "$BD3" info -m "$T/bad.gguf"
err_has "bad.gguf"

# ---- info ----------------------------------------------------------------------------------
expect_rc 0 "info" "$BD3" info "$M"
out_has "^n_vocab *300$"
out_has "^n_ctx *64$"
out_has "^mask_id *299$"
BD3_MODEL=$M expect_rc 0 "info with BD3_MODEL" "$BD3" info
out_has "^n_embd *64$"

# ---- tokenize ------------------------------------------------------------------------------
printf 'the rain in spain stays mainly in the plain\n' >"$T/a.txt"
expect_rc 0 "tokenize file" "$BD3" tokenize -m "$M" "$T/a.txt"
cp "$T/out" "$T/tok_file"
grep -qv '^[0-9 ]*$' "$T/tok_file" && fail "tokenize prints something other than ids"
[ "$(wc -w <"$T/tok_file")" -gt 5 ] || fail "tokenize gives too few ids"
"$BD3" tokenize -m "$M" <"$T/a.txt" >"$T/tok_stdin" || fail "tokenize stdin"
cmp -s "$T/tok_file" "$T/tok_stdin" || fail "tokenize of stdin differs from the file"
expect_rc 1 "tokenize missing file" "$BD3" tokenize -m "$M" "$T/nofile"
err_has "nofile"

# ---- logits --------------------------------------------------------------------------------
expect_rc 0 "logits global text" "$BD3" logits -m "$M" --ids 1,2,mask,3 --mode global
[ "$(wc -l <"$T/out")" -eq 4 ] || fail "logits text: 4 rows expected"
[ "$(head -1 "$T/out" | wc -w)" -eq 300 ] || fail "logits text: 300 columns expected"
expect_rc 0 "logits global binary" "$BD3" logits -m "$M" --ids 1,2,mask,3 --mode global -o "$T/g.f32"
[ "$(wc -c <"$T/g.f32")" -eq $((4 * 300 * 4)) ] || fail "logits -o: size is not rows x V x 4"
[ -s "$T/out" ] && fail "logits -o writes to stdout"
IDS=5,6,7,8,9,10,mask,12,13,14,mask,16,17,18
expect_rc 0 "logits block" "$BD3" logits -m "$M" --ids $IDS --mode block:4 -o "$T/b.f32"
expect_rc 0 "logits stream" "$BD3" logits -m "$M" --ids $IDS --mode block:4 --stream -o "$T/s.f32"
[ "$(wc -c <"$T/s.f32")" -eq $((2 * 300 * 4)) ] || fail "logits --stream: only the last block's rows"
"$PYTHON" - "$T/b.f32" "$T/s.f32" <<'PYEOF' || fail "streamed rows differ from the block-causal pass"
import sys, numpy as np
b = np.fromfile(sys.argv[1], dtype="<f4").reshape(-1, 300)
s = np.fromfile(sys.argv[2], dtype="<f4").reshape(-1, 300)
d = np.abs(b[-2:] - s).max() / max(np.abs(b).max(), 1e-9)
sys.exit(0 if d < 1e-5 else 1)
PYEOF
"$PYTHON" - "$T/g.f32" "$T/b.f32" <<'PYEOF' || fail "global and block logits are identical (mask ignored?)"
import sys, numpy as np
g = np.fromfile(sys.argv[1], dtype="<f4")
b = np.fromfile(sys.argv[2], dtype="<f4")
sys.exit(0 if np.isfinite(g).all() and np.isfinite(b).all() and g.size != b.size else 1)
PYEOF
# A stream longer than n_ctx slides.
LONG=$("$PYTHON" -c "print(','.join(str(i % 290) for i in range(150)))")
expect_rc 0 "logits stream past n_ctx" "$BD3" logits -m "$M" --ids "$LONG" --mode block:8 --stream -o "$T/l.f32"
[ "$(wc -c <"$T/l.f32")" -eq $((6 * 300 * 4)) ] || fail "logits --stream past n_ctx: last partial block rows"
expect_rc 2 "logits bad id" "$BD3" logits -m "$M" --ids 1,x,3 --mode global
err_has "not a token id"
expect_rc 2 "logits id out of range" "$BD3" logits -m "$M" --ids 1,300 --mode global
expect_rc 2 "logits without mode" "$BD3" logits -m "$M" --ids 1,2
err_has "required"
expect_rc 2 "logits bad mode" "$BD3" logits -m "$M" --ids 1,2 --mode block:x
expect_rc 2 "logits stream global" "$BD3" logits -m "$M" --ids 1,2 --mode global --stream
expect_rc 2 "logits too long without stream" "$BD3" logits -m "$M" --ids "$LONG" --mode global
expect_rc 1 "logits unwritable output" "$BD3" logits -m "$M" --ids 1,2 --mode global -o "$T/no/such/dir"

# The exact interface against float64 reference logits (tests/ref/bd3_ref.py), every case of
# tests/ref/make_fixture.py: global, block-causal, streamed and sliding.
if "$PYTHON" tests/ref/make_fixture.py "$T/fx" >/dev/null; then
    ncase=0
    while read -r name model mode rows nv ids; do
        case "$name" in "#"*) continue ;; esac
        case "$mode" in
            stream:*) set -- --mode "block:${mode#stream:}" --stream ;;
            *) set -- --mode "$mode" ;;
        esac
        if ! "$BD3" logits -m "$T/fx/$model" --ids "$ids" "$@" -o "$T/case.f32" 2>"$T/err"; then
            fail "logits $name: $(head -c 200 "$T/err")"
            continue
        fi
        "$PYTHON" - "$T/case.f32" "$T/fx/$name.f32" "$rows" "$nv" <<'PYEOF' || fail "logits $name differs from the reference"
import sys, numpy as np
got = np.fromfile(sys.argv[1], dtype="<f4")
ref = np.fromfile(sys.argv[2], dtype="<f4")
shape = (int(sys.argv[3]), int(sys.argv[4]))
ok = got.size == ref.size == shape[0] * shape[1]
ok = ok and np.abs(got - ref).max() / np.abs(ref).max() < 1e-4
sys.exit(0 if ok else 1)
PYEOF
        ncase=$((ncase + 1))
    done <"$T/fx/cases.txt"
    [ $ncase -ge 10 ] && ok "logits: $ncase reference cases" || fail "logits: only $ncase reference cases"
else
    fail "cannot make the reference fixtures"
fi

# ---- ppl -----------------------------------------------------------------------------------
"$PYTHON" -c "
import random
r = random.Random(1)
w = ['the', 'rain', 'in', 'spain', 'stays', 'mainly', 'on', 'plain', 'and', 'it', 'is', 'a']
print(' '.join(r.choice(w) for _ in range(120)))" >"$T/p.txt"
expect_rc 0 "ppl block" "$BD3" ppl -m "$M" --mode block:4 --seed 3 "$T/p.txt"
cp "$T/out" "$T/ppl1"
tail -2 "$T/ppl1" | head -1 | grep -q '^ppl [0-9.]*$' || fail "ppl: second-to-last line is not 'ppl VALUE'"
tail -1 "$T/ppl1" | grep -q '^bpb [0-9.]*$' || fail "ppl: last line is not 'bpb VALUE'"
"$BD3" ppl -m "$M" --mode block:4 --seed 3 "$T/p.txt" >"$T/ppl2" 2>/dev/null
cmp -s "$T/ppl1" "$T/ppl2" || fail "ppl: same seed, different result"
"$BD3" ppl -m "$M" --mode block:4 --seed 4 "$T/p.txt" >"$T/ppl3" 2>/dev/null
cmp -s "$T/ppl1" "$T/ppl3" && fail "ppl: the seed changes nothing"
expect_rc 0 "ppl global one row" "$BD3" ppl -m "$M" --mode global --rows 1 "$T/p.txt"
out_has "^rows 1$"
out_has "^tokens 64$"
out_has "^counted 63$"
"$PYTHON" - "$T/out" <<'PYEOF' || fail "ppl: bpb is not nats / ln 2 / bytes, or ppl not exp(nats / counted)"
import sys, math
v = dict(l.split() for l in open(sys.argv[1]))
nats, counted, nbytes = float(v["nats"]), int(v["counted"]), int(v["bytes"])
ok = abs(float(v["ppl"]) - math.exp(nats / counted)) <= 1e-4 * float(v["ppl"])
ok = ok and abs(float(v["bpb"]) - nats / math.log(2) / nbytes) <= 1e-5 * float(v["bpb"])
sys.exit(0 if ok and nbytes >= 64 else 1)
PYEOF
expect_rc 2 "ppl without file" "$BD3" ppl -m "$M"
expect_rc 2 "ppl bad rows" "$BD3" ppl -m "$M" --rows 0 "$T/p.txt"

# ---- generate ------------------------------------------------------------------------------
expect_rc 0 "generate" "$BD3" generate -m "$M" -q -p 'the rain' -n 12 --seed 5
cp "$T/out" "$T/gen1"
"$BD3" generate -m "$M" -q -p 'the rain' -n 12 --seed 5 --no-cache >"$T/gen2" 2>/dev/null
cmp -s "$T/gen1" "$T/gen2" || fail "generate: --no-cache differs from the cache"
"$BD3" generate -m "$M" -q -p 'the rain' -n 12 --seed 5 --echo >"$T/gen3" 2>/dev/null
[ "$(cat "$T/gen3")" = "the rain$(cat "$T/gen1")" ] || fail "generate --echo: prompt then continuation"
expect_rc 0 "generate with schedule sampler" "$BD3" generate -m "$M" -p 'x' -n 8 --sampler confidence --steps 2 --threshold 0.5 --top-k 20 --top-p 0.9 --temperature 0.8
err_has "tokens, stopped on"
expect_rc 2 "generate prompt twice" "$BD3" generate -m "$M" -p x "$T/a.txt"

# ---- infill --------------------------------------------------------------------------------
printf 'hello world, this is a test of the infill' >"$T/i.txt"
expect_rc 0 "infill" "$BD3" infill -m "$M" -q --range 6:11 --length 3 --seed 2 "$T/i.txt"
case "$(cat "$T/out")" in
    "hello "*", this is a test of the infill") ok "infill keeps the text around the range" ;;
    *) fail "infill changed text outside the range: $(cat "$T/out")" ;;
esac
"$BD3" infill -m "$M" -q --range 6:11 --length 3 --seed 2 -o "$T/i2.txt" "$T/i.txt" || fail "infill -o"
cmp -s "$T/out" "$T/i2.txt" || fail "infill: -o differs from stdout, or not reproducible"
"$BD3" infill -m "$M" -q --range 6:11 --length 3 --seed 2 --refresh 1 -o "$T/i3.txt" "$T/i.txt" ||
    fail "infill --refresh 1"
cmp -s "$T/out" "$T/i3.txt" || fail "infill: --refresh 1 differs from the exact path"
expect_rc 0 "infill --refresh 4" "$BD3" infill -m "$M" -q --range 6:11 --length 3 --seed 2 --refresh 4 "$T/i.txt"
case "$(cat "$T/out")" in
    "hello "*", this is a test of the infill") ok "infill --refresh 4 keeps the text around the range" ;;
    *) fail "infill --refresh 4 changed text outside the range: $(cat "$T/out")" ;;
esac
expect_rc 2 "bad refresh" "$BD3" infill -m "$M" --refresh -1 --range 6:11 "$T/i.txt"
expect_rc 2 "infill range outside" "$BD3" infill -m "$M" --range 6:999 "$T/i.txt"
err_has "outside"
expect_rc 2 "infill bad range" "$BD3" infill -m "$M" --range 9:3 "$T/i.txt"
expect_rc 2 "infill empty range, no length" "$BD3" infill -m "$M" --range 5:5 "$T/i.txt"
expect_rc 0 "infill insert" "$BD3" infill -m "$M" -q --range 5:5 --length 2 "$T/i.txt"

# ---- score ---------------------------------------------------------------------------------
NTOK=$("$BD3" tokenize -m "$M" "$T/a.txt" | wc -w)
expect_rc 0 "score tsv" "$BD3" score -m "$M" --format tsv "$T/a.txt"
head -1 "$T/out" | grep -q "^index	start	end	id	conf	token$" || fail "score tsv header"
[ "$(($(wc -l <"$T/out") - 1))" -eq "$NTOK" ] || fail "score tsv: one line per token"
expect_rc 0 "score plain" "$BD3" score -m "$M" --format plain --stride 3 "$T/a.txt"
[ "$(wc -l <"$T/out")" -eq "$NTOK" ] || fail "score plain: one line per token"
expect_rc 0 "score json" "$BD3" score -m "$M" --format json "$T/a.txt"
"$PYTHON" - "$T/out" "$NTOK" "$T/a.txt" <<'PYEOF' || fail "score json: not valid, or tokens do not cover the text"
import json, sys
d = json.load(open(sys.argv[1]))
toks = d["tokens"]
text = open(sys.argv[3], "rb").read()
ok = len(toks) == int(sys.argv[2]) and toks[-1]["end"] == len(text)
ok = ok and all(0.0 < t["conf"] <= 1.0 for t in toks)
sys.exit(0 if ok else 1)
PYEOF
expect_rc 0 "score ansi" "$BD3" score -m "$M" --format ansi "$T/a.txt"
grep -q "$(printf '\033')\[3[1-5]m" "$T/out" || fail "score ansi: no colour codes"
printf 'caf\303\251 \344\270\255\346\226\207 bad\377\001 end\n' >"$T/u.txt"
expect_rc 0 "score ansi of UTF-8 and invalid bytes" "$BD3" score -m "$M" --format ansi "$T/u.txt"
"$PYTHON" - "$T/out" <<'PYEOF' || fail "score ansi: a character split by colour codes, or raw invalid bytes"
import sys
b = open(sys.argv[1], "rb").read()
ok = "é".encode() in b and "中".encode() in b and "文".encode() in b
ok = ok and b"\xff" not in b and b"\x01" not in b and b"\\xff" in b and b"\\x01" in b
sys.exit(0 if ok else 1)
PYEOF
expect_rc 2 "score bad format" "$BD3" score -m "$M" --format xml "$T/a.txt"

# ---- texts longer than the window ---------------------------------------------------------
NLONG=$("$BD3" tokenize -m "$M" "$T/p.txt" | wc -w)
[ "$NLONG" -gt 130 ] || fail "long text fixture too short ($NLONG tokens)"
expect_rc 0 "score longer than n_ctx" "$BD3" score -m "$M" --format tsv "$T/p.txt"
[ "$(($(wc -l <"$T/out") - 1))" -eq "$NLONG" ] || fail "score of a long text: one line per token"
awk -F'\t' 'NR > 1 && !($5 > 0 && $5 <= 1) { bad = 1 } END { exit bad }' "$T/out" || fail "score of a long text: confidence outside (0, 1]"
expect_rc 0 "generate from a prompt longer than n_ctx" "$BD3" generate -m "$M" -q -n 80 --seed 1 "$T/p.txt"
head -c 200 "$T/p.txt" >"$T/head.txt"
tail -c 200 "$T/p.txt" >"$T/tail.txt"
SIZE=$(wc -c <"$T/p.txt")
expect_rc 0 "infill inside a text longer than n_ctx" "$BD3" infill -m "$M" -q --range 200:$((SIZE - 200)) --length 6 "$T/p.txt"
head -c 200 "$T/out" | cmp -s - "$T/head.txt" || fail "infill of a long text changed the start"
tail -c 200 "$T/out" | cmp -s - "$T/tail.txt" || fail "infill of a long text changed the end"

# ---- bench ---------------------------------------------------------------------------------
expect_rc 0 "bench" "$BD3" bench -m "$M" -t 1
for w in "sgemm" "forward" "continue" "infill" "peak memory"; do out_has "$w"; done

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all bd3 checks passed"
