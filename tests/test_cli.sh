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
for c in info tokenize logits generate infill revise score ppl bench; do out_has "$c"; done
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
# every command's help explains its own options, and only sampling commands list the sampler's
for spec in "info MODEL" "tokenize FILE" "logits --ids --mode --stream --output" \
    "generate --prompt --max-new --block --no-cache --echo --top-p --refresh --seed" \
    "infill --range L1:C1-L2:C2 --find --length --fit --output --top-p" \
    "revise --range --find --fraction --output --top-p" "score --format --stride --ar" \
    "ppl --mode --rows --seed --ref" "bench --block --seed"; do
    set -- $spec
    cmd=$1
    shift
    "$BD3" "$cmd" --help >"$T/help" 2>&1 || fail "$cmd --help exits nonzero"
    grep -q "^Options of $cmd:" "$T/help" || fail "$cmd --help has no section for its own options"
    for word in "$@"; do
        grep -q -F -- "$word" "$T/help" || fail "$cmd --help does not explain $word"
    done
done
for cmd in info tokenize logits score ppl; do
    "$BD3" "$cmd" --help >"$T/help" 2>&1
    grep -q -- "--top-p" "$T/help" && fail "$cmd --help lists sampler options it does not take"
done
"$BD3" generate --help | grep -q "top-p X .*default 0.9" || fail "generate --help: top-p default"
expect_rc 2 "sampler option on a command that does not sample" "$BD3" tokenize -m "$M" --top-p 0.5
err_has "option --top-p does not apply"
expect_rc 2 "option of another command, its value apart" "$BD3" revise -m "$M" --fit 2 "$T/none.txt"
err_has "option --fit does not apply"
expect_rc 2 "short option of another command" "$BD3" ppl -m "$M" -p x "$T/none.txt"
err_has "option -p does not apply"
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
# tests/ref/make_fixture.py: global, block-causal, streamed and sliding (float32 products).
if "$PYTHON" tests/ref/make_fixture.py "$T/fx" >/dev/null; then
    ncase=0
    while read -r name model mode rows nv ids; do
        case "$name" in "#"*) continue ;; esac
        case "$mode" in
            stream:*) set -- --mode "block:${mode#stream:}" --stream ;;
            *) set -- --mode "$mode" ;;
        esac
        if ! "$BD3" logits -m "$T/fx/$model" --compute f32 --ids "$ids" "$@" -o "$T/case.f32" 2>"$T/err"; then
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
# --ref: a second model on the same rows and masks; its lines equal its own run, the change is
# paired row by row when both tokenize alike (m3 has fewer merges, so it does not), and a model
# against itself changes by exactly 0
"$PYTHON" -c "import sys; sys.path.insert(0, 'tests/ref'); import make_fixture as f
f.random_model(sys.argv[1], 300, 64, 4, 2, 64, 'f32', [4, 8, 64], 6)
f.random_model(sys.argv[2], 290, 64, 4, 2, 64, 'f32', [4, 8, 64], 6)" "$T/m2.gguf" "$T/m3.gguf" ||
    fail "cannot make the second fixture"
expect_rc 0 "ppl --ref" "$BD3" ppl -m "$M" --ref "$T/m2.gguf" --mode block:4 --seed 3 "$T/p.txt"
cp "$T/out" "$T/pref"
head -8 "$T/pref" | cmp -s - "$T/ppl1" || fail "ppl --ref: the model's own lines changed"
"$BD3" ppl -m "$T/m2.gguf" --mode block:4 --seed 3 "$T/p.txt" >"$T/pm2" 2>/dev/null
"$PYTHON" - "$T/pref" "$T/pm2" <<'PYEOF' || fail "ppl --ref: reference lines or change wrong"
import sys
v = dict(l.split(None, 1) for l in open(sys.argv[1]))
w = dict(l.split(None, 1) for l in open(sys.argv[2]))
ok = all(v["ref_" + k].strip() == w[k].strip() for k in ("nats", "ppl", "bpb"))
chg = float(v["change_bpb"].strip().rstrip("%"))
want = 100 * (float(v["nats"]) / float(w["nats"]) - 1)
ok = ok and abs(chg - want) < 1e-3 and chg != 0.0
ok = ok and int(v["paired_rows"]) == int(v["rows"]) and float(v["change_se"].strip().rstrip("%")) > 0
sys.exit(0 if ok else 1)
PYEOF
expect_rc 0 "ppl --ref itself" "$BD3" ppl -m "$M" --ref "$M" --mode global --seed 2 "$T/p.txt"
out_has "^change_bpb +0.0000%$"
out_has "^change_se 0.0000%$"
expect_rc 0 "ppl --ref other tokenizer" "$BD3" ppl -m "$M" --ref "$T/m3.gguf" --mode block:4 --seed 3 "$T/p.txt"
out_has "^paired_rows 0$"
grep -q "^change_se" "$T/out" && fail "ppl --ref: a standard error without pairing"
expect_rc 1 "ppl --ref missing file" "$BD3" ppl -m "$M" --ref "$T/absent.gguf" "$T/p.txt"
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
expect_rc 0 "infill" "$BD3" infill -m "$M" -q --range 6:11 --length 3 --seed 2 --refresh 0 "$T/i.txt"
case "$(cat "$T/out")" in
    "hello "*", this is a test of the infill") ok "infill keeps the text around the range" ;;
    *) fail "infill changed text outside the range: $(cat "$T/out")" ;;
esac
"$BD3" infill -m "$M" -q --range 6:11 --length 3 --seed 2 --refresh 0 -o "$T/i2.txt" "$T/i.txt" || fail "infill -o"
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
err_has "the span is empty; give --length N"
expect_rc 2 "infill --length 0 of a non-empty span" "$BD3" infill -m "$M" --range 6:11 --length 0 "$T/i.txt"
err_has "--length 0 would only delete the span (bytes 6:11)"
grep -q "span is empty" "$T/err" && fail "infill --length 0 of a non-empty span says the span is empty"
expect_rc 2 "infill --length 0 of an empty span" "$BD3" infill -m "$M" --range 5:5 --length 0 "$T/i.txt"
err_has "the span is empty and --length is 0"
expect_rc 0 "infill insert" "$BD3" infill -m "$M" -q --range 5:5 --length 2 "$T/i.txt"
# --fit F: lengths N-F..N+F tried (N: --length, else the span's own: 5 for "world"), the
# likeliest kept; the kept fill is the one the same seed draws at that length alone (the window
# holds all the text). Not with --length 0 or past the context; not an option of revise.
expect_rc 0 "infill --fit" "$BD3" infill -m "$M" --range 6:11 --length 3 --fit 2 --seed 2 --refresh 0 "$T/i.txt"
cp "$T/out" "$T/fit1"
err_has "the best fit of 1\.\.5 tokens, seed 2"
K=$(sed -n 's/^bd3 infill: best fit \([0-9]*\) tokens\{0,1\} of 1\.\.5 ([0-9.]* nat\/B)$/\1/p' "$T/err")
case "$K" in [1-5]) ok "infill --fit reports the length kept" ;; *) fail "infill --fit: no length kept in: $(cat "$T/err")" ;; esac
case "$(cat "$T/fit1")" in
    "hello "*", this is a test of the infill") ok "infill --fit keeps the text around the range" ;;
    *) fail "infill --fit changed text outside the range: $(cat "$T/fit1")" ;;
esac
"$BD3" infill -m "$M" -q --range 6:11 --length 3 --fit 2 --seed 2 --refresh 0 "$T/i.txt" >"$T/fit2" 2>/dev/null
cmp -s "$T/fit1" "$T/fit2" || fail "infill --fit is not reproducible with --seed"
"$BD3" infill -m "$M" -q --range 6:11 --length "${K:-1}" --seed 2 --refresh 0 "$T/i.txt" >"$T/fitk" 2>/dev/null
cmp -s "$T/fit1" "$T/fitk" || fail "infill --fit kept a fill that --length $K with the same seed does not draw"
"$BD3" infill -m "$M" -q --range 6:11 --length 3 --fit 0 --seed 2 --refresh 0 "$T/i.txt" >"$T/fit0" 2>/dev/null
cmp -s "$T/fit0" "$T/i2.txt" || fail "infill --fit 0 is not the plain infill"
expect_rc 0 "infill --fit around the span's length" "$BD3" infill -m "$M" --range 6:11 --fit 1 --seed 2 "$T/i.txt"
err_has "the best fit of 4\.\.6 tokens"
expect_rc 2 "infill --fit past a quarter of n_ctx" "$BD3" infill -m "$M" --range 6:11 --fit 17 "$T/i.txt"
err_has "--fit 17: at most 16"
expect_rc 2 "infill --fit with a --length that leaves no room" "$BD3" infill -m "$M" --range 6:11 --length 60 --fit 4 "$T/i.txt"
err_has "--fit 4 on a length of 60 tokens (--length) tries 64 tokens, more than the context of 64 holds"
expect_rc 2 "infill --fit negative" "$BD3" infill -m "$M" --range 6:11 --fit -1 "$T/i.txt"
expect_rc 2 "revise --fit" "$BD3" revise -m "$M" --fit 2 "$T/i.txt"

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
expect_rc 0 "infill inside a text longer than n_ctx" "$BD3" infill -m "$M" --range 200:$((SIZE - 200)) --length 6 "$T/p.txt"
# the span may have been widened to whole tokens: the bytes before and after it are kept
A=$(sed -n 's/.*bytes \([0-9]*\):\([0-9]*\).*/\1/p' "$T/err")
B=$(sed -n 's/.*bytes \([0-9]*\):\([0-9]*\).*/\2/p' "$T/err")
[ -n "$A" ] && [ "$A" -le 200 ] && [ "$A" -ge 190 ] && [ "$B" -ge $((SIZE - 200)) ] || fail "infill of a long text: span $A:$B"
head -c "$A" "$T/out" | cmp -s - "$(head -c "$A" "$T/p.txt" >"$T/h2.txt"; echo "$T/h2.txt")" || fail "infill of a long text changed the start"
tail -c 190 "$T/out" | cmp -s - "$(tail -c 190 "$T/p.txt" >"$T/t2.txt"; echo "$T/t2.txt")" || fail "infill of a long text changed the end"

# ---- shared sampler defaults, model metadata, fresh seeds ---------------------------------
expect_rc 0 "info shows the built-in sampler defaults" "$BD3" info "$M"
out_has "^top_p *0.9$"
out_has "^refresh *32$"
out_has "^revise_fraction *0.3$"
out_has "^sampler *first-hitting$"
MS=$T/sampler.gguf
"$PYTHON" -c "import sys; sys.path.insert(0, 'tests/ref'); import make_fixture as f; f.random_model(sys.argv[1], 300, 64, 4, 2, 64, 'f32', [4, 8, 64], 5, sampler={'top_p': 0.5, 'kind': 'confidence', 'steps': 3, 'refresh': 0, 'revise_fraction': 0.5})" "$MS" ||
    fail "cannot make the sampler-metadata fixture"
expect_rc 0 "info shows a model's own sampler defaults" "$BD3" info "$MS"
out_has "^top_p *0.5$"
out_has "^sampler *confidence$"
out_has "^steps *3$"
out_has "^refresh *0$"
out_has "^revise_fraction *0.5$"
# generate and infill without options use the model's defaults: the same text as the options
"$BD3" generate -m "$MS" -q -p 'the rain' -n 12 --seed 9 >"$T/d1" 2>/dev/null || fail "generate with model defaults"
"$BD3" generate -m "$M" -q -p 'the rain' -n 12 --seed 9 --top-p 0.5 --sampler confidence --steps 3 --refresh 0 >"$T/d2" 2>/dev/null
cmp -s "$T/d1" "$T/d2" || fail "generate: the model's sampler metadata is not the default"
"$BD3" generate -m "$M" -q -p 'the rain' -n 12 --seed 9 >"$T/d3" 2>/dev/null
"$BD3" generate -m "$M" -q -p 'the rain' -n 12 --seed 9 --top-p 0.9 --refresh 32 --sampler first-hitting >"$T/d4" 2>/dev/null
cmp -s "$T/d3" "$T/d4" || fail "generate: built-in defaults are not top-p 0.9, refresh 32, first hitting"
"$BD3" infill -m "$M" -q --range 6:11 --seed 4 "$T/i.txt" >"$T/d5" 2>/dev/null || fail "infill with defaults"
"$BD3" infill -m "$M" -q --range 6:11 --seed 4 --top-p 0.9 --refresh 32 "$T/i.txt" >"$T/d6" 2>/dev/null
cmp -s "$T/d5" "$T/d6" || fail "infill: built-in defaults are not top-p 0.9, refresh 32"
"$PYTHON" -c "import sys; sys.path.insert(0, 'tests/ref'); import make_fixture as f; f.random_model(sys.argv[1], 300, 64, 4, 2, 64, 'f32', [4, 8, 64], 5, sampler={'top_p': 1.5})" "$T/badsampler.gguf" &&
    expect_rc 1 "a model with a bad sampler default" "$BD3" info "$T/badsampler.gguf" && err_has "bd3lm.sampler.top_p"
# no --seed: a fresh seed per run, printed, and --seed with it repeats the run
expect_rc 0 "generate with a fresh seed" "$BD3" generate -m "$M" -p 'the rain' -n 12
cp "$T/out" "$T/f1"
S1=$(sed -n 's/.*, seed \([0-9]*\)$/\1/p' "$T/err")
"$BD3" generate -m "$M" -p 'the rain' -n 12 >"$T/f2" 2>"$T/err2"
S2=$(sed -n 's/.*, seed \([0-9]*\)$/\1/p' "$T/err2")
[ -n "$S1" ] && [ -n "$S2" ] && [ "$S1" != "$S2" ] || fail "generate: no fresh seed per run ($S1, $S2)"
"$BD3" generate -m "$M" -q -p 'the rain' -n 12 --seed "$S1" >"$T/f3" 2>/dev/null
cmp -s "$T/f1" "$T/f3" || fail "generate: --seed with the printed seed does not repeat the run"

# ---- infill spans: found text, line:col, widened to whole tokens --------------------------
printf 'the rain\nin spain stays\nmainly\n' >"$T/l.txt"
expect_rc 0 "infill --find" "$BD3" infill -m "$M" --find "spain" --seed 3 "$T/l.txt"
err_has "bytes 12:17"
expect_rc 0 "infill --range line:col" "$BD3" infill -m "$M" --range 2:4-2:9 --seed 3 "$T/l.txt"
cp "$T/out" "$T/lc"
err_has "bytes 12:17"
"$BD3" infill -m "$M" -q --range 12:17 --seed 3 "$T/l.txt" >"$T/lb" 2>/dev/null
cmp -s "$T/lc" "$T/lb" || fail "infill: line:col and the same bytes give different results"
case "$(cat "$T/lc")" in
    "the rain
in"*" stays
mainly") ok "infill line:col keeps the text around the span" ;;
    *) fail "infill line:col changed text outside the span: $(cat "$T/lc")" ;;
esac
# "th|e rain": a span starting inside the token "th" takes the whole token
expect_rc 0 "infill snaps a span inside a token" "$BD3" infill -m "$M" --range 1:8 --seed 3 "$T/l.txt"
err_has "bytes 0:8 (widened to whole tokens)"
expect_rc 0 "infill insertion inside a token" "$BD3" infill -m "$M" --range 1:1 --length 2 --seed 3 "$T/l.txt"
err_has "bytes 0:0"
case "$(cat "$T/out")" in *"the rain
in spain stays
mainly") ok "infill insertion keeps the token it moved before" ;;
    *) fail "infill insertion inside a token: $(cat "$T/out")" ;; esac
expect_rc 0 "infill --find of repeated text" "$BD3" infill -m "$M" --find "ain" --seed 3 "$T/l.txt"
err_has "3 occurrences, the first is used"
err_has "bytes 5:8"
expect_rc 2 "infill --find of absent text" "$BD3" infill -m "$M" --find "snow" "$T/l.txt"
err_has "does not occur"
expect_rc 2 "infill line out of range" "$BD3" infill -m "$M" --range 9:1-9:2 "$T/l.txt"
err_has "no such line"
expect_rc 2 "infill column out of range" "$BD3" infill -m "$M" --range 1:1-1:20 "$T/l.txt"
expect_rc 2 "infill line:col end before start" "$BD3" infill -m "$M" --range 2:5-1:2 "$T/l.txt"
expect_rc 2 "infill --range and --find" "$BD3" infill -m "$M" --range 1:2 --find x "$T/l.txt"

# ---- revise --------------------------------------------------------------------------------
expect_rc 0 "revise a span" "$BD3" revise -m "$M" --find "in spain" --fraction 1 --seed 6 "$T/l.txt"
cp "$T/out" "$T/r1"
err_has "bytes 9:17"
case "$(cat "$T/r1")" in
    "the rain
"*"
mainly") ok "revise keeps the text outside the span" ;;
    *) fail "revise changed text outside the span: $(cat "$T/r1")" ;;
esac
cmp -s "$T/r1" "$T/l.txt" && fail "revise --fraction 1 changed nothing"
"$BD3" revise -m "$M" -q --find "in spain" --fraction 1 --seed 6 -o "$T/r2" "$T/l.txt" || fail "revise -o"
cmp -s "$T/r1" "$T/r2" || fail "revise: -o differs from stdout, or not reproducible"
expect_rc 0 "revise the whole file" "$BD3" revise -m "$M" --seed 6 "$T/p.txt"
err_has "bytes 0:$SIZE"
err_has "fraction 0.3"
[ "$(wc -c <"$T/out")" -gt 0 ] || fail "revise of a long file wrote nothing"
expect_rc 0 "revise takes the model's fraction" "$BD3" revise -m "$MS" --seed 6 "$T/l.txt"
err_has "fraction 0.5"
expect_rc 2 "revise bad fraction" "$BD3" revise -m "$M" --fraction 0 "$T/l.txt"
expect_rc 2 "revise without file" "$BD3" revise -m "$M"
expect_rc 2 "revise empty span" "$BD3" revise -m "$M" --range 3:3 "$T/l.txt"

# ---- exact left-to-right scoring (block length 1) -----------------------------------------
MA=$BUILD/fixtures/ar_f32.gguf
if [ ! -f "$MA" ]; then
    "$PYTHON" -c "import sys; sys.path.insert(0, 'tests/ref'); import make_fixture as f; f.random_model(sys.argv[1] + '.tmp', 300, 64, 4, 2, 64, 'f32', [1, 64], 7)" "$MA" &&
    mv "$MA.tmp" "$MA" || fail "cannot make the block-length-1 fixture"
fi
expect_rc 0 "score --ar" "$BD3" score -m "$MA" --ar --format tsv "$T/p.txt"
head -1 "$T/out" | grep -q "^index	start	end	id	conf	logp	token$" || fail "score --ar tsv header"
[ "$(($(wc -l <"$T/out") - 1))" -eq "$NLONG" ] || fail "score --ar: one line per token of a text longer than n_ctx"
err_has "perplexity"
"$PYTHON" - "$T/out" "$T/err" <<'PYEOF' || fail "score --ar: conf is not exp(logp), or the total is not their sum"
import math, re, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
lp = [float(r[5]) for r in rows]
ok = all(abs(float(r[4]) - math.exp(float(r[5]))) < 2e-6 + 1e-4 * float(r[4]) for r in rows)
ok = ok and all(v < 0 for v in lp)
tot = float(re.search(r"log p (-?[0-9.]+) nats", open(sys.argv[2]).read()).group(1))
sys.exit(0 if ok and abs(tot - sum(lp)) < 1e-2 else 1)
PYEOF
# the score of a prefix does not depend on what follows it
head -c 100 "$T/p.txt" >"$T/p100.txt"
"$BD3" score -m "$MA" -q --ar --format tsv "$T/p100.txt" >"$T/ar100" || fail "score --ar of a prefix"
N100=$(($(wc -l <"$T/ar100") - 2))
head -n "$N100" "$T/ar100" | cmp -s - "$(head -n "$N100" "$T/out" >"$T/arfull"; echo "$T/arfull")" ||
    fail "score --ar: the score of a token depends on the text after it"
expect_rc 0 "score --ar json" "$BD3" score -m "$MA" -q --ar --format json "$T/a.txt"
"$PYTHON" - "$T/out" <<'PYEOF' || fail "score --ar json: logp per token and logp_sum their sum"
import json, sys
d = json.load(open(sys.argv[1]))
s = sum(t["logp"] for t in d["tokens"])
sys.exit(0 if d["tokens"] and abs(d["logp_sum"] - s) < 1e-3 else 1)
PYEOF
expect_rc 1 "score --ar with a model not trained for block length 1" "$BD3" score -m "$M" --ar "$T/a.txt"
err_has "block length 1"
expect_rc 2 "score --ar with --stride" "$BD3" score -m "$MA" --ar --stride 2 "$T/a.txt"

# ---- hostile bytes: shown on a terminal, exact through a pipe ------------------------------
# A model whose name and one token hold terminal control sequences (title, clear screen),
# with that token made the likeliest, and a file holding them too.
MH=$T/hostile.gguf
"$PYTHON" - "$MH" <<'PYEOF' || fail "cannot make the hostile fixture"
import sys
sys.path.insert(0, "tests/ref")
import make_fixture as f
bt = f.byte_tokens()
evil = b"\x1b]0;pwned\x07\x1b[2J"
# 404 tokens: 256 bytes, 144 letter pairs, then "x0" (id 400, made by no merge), which becomes
# the hostile token
f.random_model(sys.argv[1], 404, 64, 4, 2, 64, "f32", [4, 8, 64], 5,
               name="evil\x1b]0;title\x07\x1b[2Jname", tokens={400: "".join(bt[b] for b in evil)},
               bias={400: 40.0})
PYEOF
# (\302\233 is U+009B, the C1 form of CSI that a terminal may obey as ESC [)
printf 'safe \033]52;c;Y2xpcA==\007text\033[2J\302\2332J and more words here\n' >"$T/h.txt"
# through a pipe: the exact bytes
"$BD3" info "$MH" | head -1 >"$T/hinfo" || fail "info of the hostile model"
printf 'name            evil\033]0;title\007\033[2Jname\n' | cmp -s - "$T/hinfo" || fail "info through a pipe: not the exact name bytes"
"$BD3" generate -m "$MH" -q -n 6 --seed 1 --echo "$T/h.txt" >"$T/hgen"
"$PYTHON" - "$T/hgen" "$T/h.txt" <<'PYEOF' || fail "generate through a pipe: not the exact bytes of prompt and output"
import sys
out, prompt = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
sys.exit(0 if out.startswith(prompt) and b"\x1b]0;pwned\x07\x1b[2J" in out[len(prompt):] else 1)
PYEOF
"$BD3" infill -m "$MH" -q --find "and more" --seed 1 "$T/h.txt" >"$T/hinf"
"$PYTHON" - "$T/hinf" <<'PYEOF' || fail "infill through a pipe: not the exact bytes of file and output"
import sys
out = open(sys.argv[1], "rb").read()
ok = out.startswith(b"safe \x1b]52;c;Y2xpcA==\x07text\x1b[2J") and out.endswith(b" words here\n")
sys.exit(0 if ok and b"\x1b]0;pwned\x07" in out else 1)
PYEOF
# revise redraws a token only among tokens of its word-boundary class, so the control bytes
# come from the text around the revised span, which revise writes out as it is
"$BD3" revise -m "$MH" -q --find "and more" --fraction 1 --seed 1 "$T/h.txt" -o "$T/hrev" || fail "revise of the hostile file"
grep -q "$(printf '\033')" "$T/hrev" || fail "revise -o: control bytes were escaped in a file"
# a model whose architecture is a control sequence: the error message quotes it
"$PYTHON" - "$M" "$T/arch.gguf" <<'PYEOF' || fail "cannot make the hostile-architecture fixture"
import sys
b = open(sys.argv[1], "rb").read()
i = b.index(b"\x05\x00\x00\x00\x00\x00\x00\x00bd3lm")
open(sys.argv[2], "wb").write(b[:i + 8] + b"\x1b[2J\x07" + b[i + 13:])
PYEOF
expect_rc 1 "a model of another architecture" "$BD3" info "$T/arch.gguf"
grep -q "$(printf '\033')\[2J" "$T/err" || fail "error message to a file: not the exact bytes"
# through a terminal: no control byte reaches it; they are shown as \xNN
for what in info generate infill revise score error; do
    case $what in
        error) c="'$BD3' info '$T/arch.gguf'" ;;
        info) c="'$BD3' info '$MH'" ;;
        generate) c="'$BD3' generate -m '$MH' -q -n 6 --seed 1 --echo '$T/h.txt'" ;;
        infill) c="'$BD3' infill -m '$MH' -q --find 'and more' --seed 1 '$T/h.txt'" ;;
        revise) c="'$BD3' revise -m '$MH' -q --find 'and more' --fraction 1 --seed 1 '$T/h.txt'" ;;
        score) c="'$BD3' score -m '$MH' -q '$T/h.txt'" ;;
    esac
    script -q -e -c "$c" /dev/null </dev/null >"$T/tty_$what" 2>&1
    rc=$?
    [ $rc -eq 0 ] || [ $what = error ] || fail "$what on a terminal exits nonzero"
    "$PYTHON" - "$T/tty_$what" "$what" <<'PYEOF' || fail "$what on a terminal: raw control bytes or nothing shown"
import sys
b = open(sys.argv[1], "rb").read()
import re
# score's colours are the one escape sequence it writes itself
t = re.sub(rb"\x1b\[[0-9;]*m", b"", b) if sys.argv[2] == "score" else b
bad = [c for c in t if c < 0x20 and c not in (0x0a, 0x0d, 0x09)] + [c for c in t if c == 0x7f]
bad += [i for i in range(len(b) - 1) if b[i] == 0xc2 and 0x80 <= b[i + 1] < 0xa0]   # C1 controls
shown = b"\\x1b" in b and b"\\x07" in b
sys.exit(0 if not bad and shown else 1)
PYEOF
done

# ---- the manual page names every command and option --------------------------------------
MANTEXT=$(sed -e 's/\\-/-/g' -e 's/\\f[BIR]//g' man/bd3.1)
for w in info tokenize logits generate infill revise score ppl bench --ar --find --fraction \
    --range --top-p --refresh --seed --stride --echo --no-cache bd3lm.sampler.top_p \
    bd3lm.sampler.revise_fraction bd3lm.sampler.kind; do
    printf '%s\n' "$MANTEXT" | grep -q -F -- "$w" || fail "man/bd3.1 does not mention $w"
done

# ---- bench ---------------------------------------------------------------------------------
expect_rc 0 "bench" "$BD3" bench -m "$M" -t 1
for w in "sgemm" "forward" "continue" "infill" "peak memory" "^threads 1, usable CPUs [0-9]" "; kernels [a-z]"; do
    out_has "$w"
done
grep -q "more threads than CPUs" "$T/out" && fail "bench -t 1 says there are more threads than CPUs"
# BD3_MAX_ISA caps the kernels' instruction set, and bench names the one in use
expect_rc 0 "bench, portable kernels" env BD3_MAX_ISA=portable "$BD3" bench -m "$M" -t 1
out_has "; kernels portable\$"
# the threads the figures ran on, not the number asked, and whether they outnumber the CPUs
expect_rc 0 "bench -t 100" "$BD3" bench -m "$M" -t 100
out_has "^threads 64 (100 asked, 64 at most), usable CPUs [0-9]*.*: more threads than CPUs"
if command -v taskset >/dev/null 2>&1; then
    expect_rc 0 "bench -t 2 on one CPU" taskset -c 0 "$BD3" bench -m "$M" -t 2
    out_has "^threads 2, usable CPUs 1.*: more threads than CPUs"
    expect_rc 0 "bench on one CPU, default threads" taskset -c 0 "$BD3" bench -m "$M"
    out_has "^threads 1 (default: one per usable CPU), usable CPUs 1"
fi

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all bd3 checks passed"
