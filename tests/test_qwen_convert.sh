#!/bin/sh
# Script test for model/convert/prenorm_to_gguf.py: tiny random checkpoints in the published layouts
# of SDAR (Qwen3), Fast-dLLM v2 and Dream (Qwen2.5), BF16 shards with an index, converted to f32,
# f16, bf16, q8_0 and q4_0 and checked against the float64 forward of tests/ref/qwen_ref.py in block-causal and
# global modes; the metadata of each family; hostile inputs.
PYTHON=${PYTHON:-/usr/bin/python3}
BUILD=${BUILD:-build}
"$PYTHON" -c 'import numpy' 2>/dev/null || { echo "numpy missing"; exit 77; }
T=$BUILD/test_qwen_convert
rm -rf "$T" && mkdir -p "$T" || exit 1
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
conv() { "$PYTHON" model/convert/prenorm_to_gguf.py "$@"; }
gen() { "$PYTHON" tests/ref/make_qwen_checkpoint.py "$@" || { echo "FAIL: generator: $*"; exit 1; }; }
check() { "$PYTHON" tests/ref/qwen_ref.py "$@" || fail "qwen_ref.py $*"; }

IDS=1,2,3,mask,5,6,7,8,100,mask,mask,280,9,10,11,12,40,41,mask,43      # 20 ids, some masked
for fam in sdar fastdllm dream; do
    echo "-- $fam"
    case $fam in
        sdar) gen "$T/$fam" --family sdar --head-dim 32 --kv-heads 2; B=4 ;;   # H*hd = 128 != D = 64
        fastdllm) gen "$T/$fam" --family fastdllm --kv-heads 1 --shards 3; B=16 ;;
        dream) gen "$T/$fam" --family dream --kv-heads 4 --shards 1; B= ;;
    esac
    for ty in f32 f16 bf16 q8_0 q4_0; do
        conv "$T/$fam" -o "$T/${fam}_$ty.gguf" --type $ty --ctx 64 2>"$T/log_${fam}_$ty" ||
            { cat "$T/log_${fam}_$ty"; fail "$fam conversion to $ty"; }
    done
    for mode in global ${B:+block:$B}; do
        # f32 holds the BF16 values exactly: the same float64 forward to rounding
        check --ref hf:"$T/$fam" --got gguf:"$T/${fam}_f32.gguf" --ids "$IDS" --mode $mode --tol 1e-12
        check --ref hf:"$T/$fam" --got gguf:"$T/${fam}_f16.gguf" --ids "$IDS" --mode $mode --tol 3e-3
        check --ref hf:"$T/$fam" --got gguf:"$T/${fam}_bf16.gguf" --ids "$IDS" --mode $mode --tol 1e-12
        check --ref hf:"$T/$fam" --got gguf:"$T/${fam}_q8_0.gguf" --ids "$IDS" --mode $mode --tol 3e-2
        # 4-bit weights: a block's step is |max| / 8, its RMS error step / sqrt(12), about 7.6% of
        # the RMS of Gaussian weights (max of 32 ~ 2.1 sigma) per product; twice that for about
        # four products adding independently to a logit: 0.3 (measured 0.08-0.16)
        check --ref hf:"$T/$fam" --got gguf:"$T/${fam}_q4_0.gguf" --ids "$IDS" --mode $mode --tol 0.3
    done
done

echo "-- engine: bd3 logits against the float64 reference"
BD3=$BUILD/bd3
if [ -x "$BD3" ]; then
    LIDS=$IDS,50,51                     # 22 ids: the streamed runs end in a partial block
    for fam in sdar fastdllm dream; do
        S=; [ $fam = sdar ] || S=--shift    # Fast-dLLM v2 and Dream read position i from row i - 1
        for mode in global block:4 block:8; do
            "$BD3" logits -q --compute f32 -m "$T/${fam}_f32.gguf" --ids "$LIDS" --mode $mode -o "$T/l.f32" ||
                fail "bd3 logits $fam $mode"
            check --ref hf:"$T/$fam" --got logits:"$T/l.f32" --ids "$LIDS" --mode $mode --tol 1e-5 $S
        done
        # through the KV cache, block by block: the last (partial) block's rows
        for B in 4 8; do
            "$BD3" logits -q --compute f32 -m "$T/${fam}_f32.gguf" --ids "$LIDS" --mode block:$B --stream \
                -o "$T/l.f32" || fail "bd3 logits --stream $fam block:$B"
            check --ref hf:"$T/$fam" --got logits:"$T/l.f32" --ids "$LIDS" --mode block:$B --tol 1e-5 $S \
                --last $((22 % B))
        done
        # bf16 with the bf16 products (the published BF16 weights exactly, the activations rounded to
        # bfloat16: relative RMS error u / sqrt(3) = 0.23% per product, u = 2^-8; about 15 products
        # add to a logit of these 2-layer models: 0.9%, and max over RMS about 3: 3e-2 as for q8_0);
        # --compute f32 expands them exactly
        "$BD3" logits -q --compute bf16 -m "$T/${fam}_bf16.gguf" --ids "$LIDS" --mode block:4 -o "$T/l.f32" ||
            fail "bd3 logits bf16 $fam"
        check --ref hf:"$T/$fam" --got logits:"$T/l.f32" --ids "$LIDS" --mode block:4 --tol 3e-2 $S
        "$BD3" logits -q --compute bf16 -m "$T/${fam}_bf16.gguf" --ids "$LIDS" --mode block:4 --stream \
            -o "$T/l.f32" || fail "bd3 logits bf16 --stream $fam"
        check --ref hf:"$T/$fam" --got logits:"$T/l.f32" --ids "$LIDS" --mode block:4 --tol 3e-2 $S --last 2
        "$BD3" logits -q --compute f32 -m "$T/${fam}_bf16.gguf" --ids "$LIDS" --mode global -o "$T/l.f32" ||
            fail "bd3 logits --compute f32 bf16 $fam"
        check --ref hf:"$T/$fam" --got logits:"$T/l.f32" --ids "$LIDS" --mode global --tol 1e-5 $S
        # q8_0 with the int8 products: within the rounding of weights and activations
        "$BD3" logits -q -m "$T/${fam}_q8_0.gguf" --ids "$LIDS" --mode block:4 -o "$T/l.f32" ||
            fail "bd3 logits q8_0 $fam"
        check --ref hf:"$T/$fam" --got logits:"$T/l.f32" --ids "$LIDS" --mode block:4 --tol 3e-2 $S
        # q4_0 kept packed: against the float64 forward of the file's own (4-bit) weights, only
        # the activations' rounding remains (as for q8_0); --compute f32 dequantizes exactly
        "$BD3" logits -q -m "$T/${fam}_q4_0.gguf" --ids "$LIDS" --mode block:4 -o "$T/l.f32" ||
            fail "bd3 logits q4_0 $fam"
        check --ref gguf:"$T/${fam}_q4_0.gguf" --got logits:"$T/l.f32" --ids "$LIDS" --mode block:4 --tol 3e-2 $S
        "$BD3" logits -q --compute f32 -m "$T/${fam}_q4_0.gguf" --ids "$LIDS" --mode global -o "$T/l.f32" ||
            fail "bd3 logits --compute f32 q4_0 $fam"
        check --ref gguf:"$T/${fam}_q4_0.gguf" --got logits:"$T/l.f32" --ids "$LIDS" --mode global --tol 1e-5 $S
    done
else
    echo "skipped: no $BD3"
fi

echo "-- metadata"
"$PYTHON" - "$T" <<'PYEOF' || fail "metadata"
import json, sys
sys.path.insert(0, "model/convert")
import gguf_writer as g
T = sys.argv[1]
for fam, block, shift, sampler, bias, qk, tied, kv in (
        ("sdar", 4, 0, "confidence", False, True, True, 2),
        ("fastdllm", 16, 1, "confidence", True, False, True, 1),
        ("dream", 64, 1, "entropy", True, False, False, 4)):
    meta, t, types = g.read_gguf("%s/%s_q8_0.gguf" % (T, fam))
    tj = json.load(open("%s/%s/tokenizer.json" % (T, fam), encoding="utf-8"))
    cfg = json.load(open("%s/%s/config.json" % (T, fam)))
    assert meta["general.architecture"] == "bd3lm" and meta["bd3lm.backbone"] == "prenorm", fam
    assert meta["bd3lm.diffusion.block_lengths"] == [block], (fam, meta["bd3lm.diffusion.block_lengths"])
    assert meta["bd3lm.diffusion.logit_shift"] == shift and meta["bd3lm.sampler.kind"] == sampler, fam
    assert meta["bd3lm.attention.head_count_kv"] == kv, fam
    assert meta["bd3lm.context_length"] == 64 and meta["tokenizer.ggml.pre"] == "qwen2", fam
    assert abs(meta["bd3lm.rope.freq_base"] - 1e6) < 1 and abs(meta["bd3lm.attention.layer_norm_rms_epsilon"] - 1e-6) < 1e-12
    assert ("blk.1.attn_q.bias" in t) == bias and ("blk.1.attn_k_norm.weight" in t) == qk, fam
    assert ("output.weight" not in t) == tied, fam
    assert types["blk.0.ffn_gate.weight"] == g.GGML_TYPE_Q8_0 and types["blk.0.attn_norm.weight"] == g.GGML_TYPE_F32
    toks, tt = meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.token_type"]
    assert len(toks) == len(tt) == cfg["vocab_size"], fam
    for s, i in tj["model"]["vocab"].items():
        assert toks[i] == s and tt[i] == 1, (fam, s)
    for a in tj["added_tokens"]:
        assert toks[a["id"]] == a["content"] and tt[a["id"]] == (3 if a["special"] else 4), (fam, a)
    mask = meta["bd3lm.diffusion.mask_token_id"]
    assert tt[mask] == 3 and toks[tt.index(5)].startswith("[PAD"), fam
    assert meta["tokenizer.ggml.merges"] == [" ".join(m) for m in tj["model"]["merges"]], fam
    assert toks[meta["tokenizer.ggml.eos_token_id"]] == "<|endoftext|>", fam
assert g.read_gguf(T + "/sdar_q8_0.gguf")[0]["bd3lm.attention.key_length"] == 32
fd = g.read_gguf(T + "/fastdllm_q8_0.gguf")[0]
assert fd["bd3lm.diffusion.sub_block_length"] == 8 and abs(fd["bd3lm.sampler.threshold"] - 0.9) < 1e-6
sd = g.read_gguf(T + "/sdar_q8_0.gguf")[0]
assert sd["bd3lm.sampler.steps"] == 4 and abs(sd["bd3lm.sampler.threshold"] - 0.85) < 1e-6
for fam in ("sdar", "dream"):  # q4_0: large matrices 4-bit, embedding and output q8_0, vectors f32
    meta, t, types = g.read_gguf("%s/%s_q4_0.gguf" % (T, fam))
    assert types["blk.0.ffn_gate.weight"] == g.GGML_TYPE_Q4_0 and types["blk.1.attn_q.weight"] == g.GGML_TYPE_Q4_0
    assert types["token_embd.weight"] == g.GGML_TYPE_Q8_0 and types["blk.0.attn_norm.weight"] == g.GGML_TYPE_F32
    assert types.get("output.weight", g.GGML_TYPE_Q8_0) == g.GGML_TYPE_Q8_0
print("metadata ok")
PYEOF

echo "-- q4_0 rounding (ggml's reference quantizer) and round trip"
"$PYTHON" - <<'PYEOF' || fail "q4_0 rounding"
import sys
import numpy as np
sys.path.insert(0, "model/convert")
import gguf_writer as g
rng = np.random.default_rng(5)
x = rng.standard_normal((40, 96)).astype(np.float32)
x[0, :32] = 0.0                              # a zero block
x[1, 3], x[1, 9] = -2.5, 2.5                 # equal magnitudes: the first one sets the scale
x[2, :32] = np.float32(0.25) * np.arange(-16, 16, dtype=np.float32)  # exact halves of the grid
buf = g.quantize_q4_0(x)
assert len(buf) == x.size // 32 * 18
want = bytearray()                           # the definition, one value at a time in float32
for blk in x.reshape(-1, 32):
    amax, m = np.float32(0), np.float32(0)
    for v in blk:
        if abs(v) > amax:
            amax, m = abs(v), v
    d = np.float32(m / np.float32(-8))
    inv = np.float32(1) / d if d != 0 else np.float32(0)
    q = [min(15, int(np.floor(np.float32(v * inv) + np.float32(8.5)))) for v in blk]
    want += np.float16(d).tobytes() + bytes(q[i] | q[i + 16] << 4 for i in range(16))
assert bytes(want) == buf, "bytes differ from the reference definition"
y = g.dequantize_q4_0(buf, x.size).reshape(x.shape)
d = np.abs(np.frombuffer(buf, np.uint8).reshape(-1, 18)[:, :2].copy().view(np.float16).astype(np.float32))
err = np.abs(y - x).reshape(-1, 32)
codes = np.concatenate([np.frombuffer(buf, np.uint8).reshape(-1, 18)[:, 2:] & 15,
                        np.frombuffer(buf, np.uint8).reshape(-1, 18)[:, 2:] >> 4], axis=1)
# half a step (plus the f16 rounding of the scale, at most 8 |d| 2^-11), a whole step for a code
# clamped at 15 (+8 steps is not on the grid)
lim = np.where(codes == 15, 1.0, 0.5) * d + 8 * d * 2.0 ** -11
assert np.all(err <= lim), np.max(err - lim)
assert np.all(y[0, :32] == 0)
rel = np.sqrt(((y - x) ** 2).sum() / (x ** 2).sum())
assert 0.04 < rel < 0.204, rel          # bound sqrt(32) / (8 sqrt(12)) = 20.4%; ~7.6% for Gaussian values
print("q4_0 rounding ok (relative RMS error %.3f)" % rel)
PYEOF

echo "-- hostile inputs"
H=$T/bad
expect_error() {  # expect_error WHAT PATTERN: conversion of $H must fail naming the problem
    if conv "$H" -o "$T/bad.gguf" 2>"$T/err"; then fail "$1: accepted"; fi
    grep -q "$2" "$T/err" || { cat "$T/err"; fail "$1: message lacks '$2'"; }
    [ ! -e "$T/bad.gguf" ] && [ ! -e "$T/bad.gguf.part" ] || fail "$1: left an output file"
}
reset_bad() { rm -rf "$H"; cp -r "$T/fastdllm" "$H"; }
reset_bad; rm "$H/model-00002-of-00003.safetensors"
expect_error "missing shard" "model-00002-of-00003.safetensors: not found"
reset_bad; "$PYTHON" -c "
import json; p='$H/config.json'; c=json.load(open(p)); c['num_key_value_heads']=3; json.dump(c, open(p,'w'))"
expect_error "kv heads not dividing heads" "num_key_value_heads 3"
reset_bad; "$PYTHON" -c "
import json; p='$H/config.json'; c=json.load(open(p)); c['intermediate_size']=100; json.dump(c, open(p,'w'))"
expect_error "wrong MLP width" "mlp.gate_proj.weight has shape"
reset_bad; "$PYTHON" -c "
import json; p='$H/config.json'; c=json.load(open(p)); c['rope_scaling']={'type': 'yarn', 'factor': 4}; json.dump(c, open(p,'w'))"
expect_error "rope scaling" "rope_scaling"
reset_bad; "$PYTHON" -c "
import json; p='$H/config.json'; c=json.load(open(p)); del c['bd_size']; c['architectures']=['OtherLM']; c['model_type']='x'; json.dump(c, open(p,'w'))"
expect_error "unknown family" "give --logit-shift"
reset_bad; head -c 1000 "$T/fastdllm/model-00001-of-00003.safetensors" > "$H/model-00001-of-00003.safetensors"
expect_error "truncated shard" "truncated"
reset_bad; "$PYTHON" -c "
import json; p='$H/tokenizer.json'; t=json.load(open(p, encoding='utf-8')); t['model']['merges'].append(['zz', 'q']); json.dump(t, open(p,'w'))"
expect_error "merge of unknown tokens" "missing from the vocabulary"
rm -rf "$H"; cp -r "$T/sdar" "$H"; "$PYTHON" -c "
import json; p='$H/config.json'; c=json.load(open(p)); c['block_size']=1000; json.dump(c, open(p,'w'))"
expect_error "block longer than the window" "outside 1..n_ctx"

if [ $failures -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all ok"
