#!/bin/sh
# test_tmux_qwen.sh: the editor with Qwen-family diffusion models (model/QWEN.md), opened with
# --model: a tiny random SDAR (block-causal, Qwen3) and Dream (global, Qwen2.5) in their published
# layouts, converted with prenorm_to_gguf.py; infill and continue run and say what a block-only
# model sees. Skips (77) without tmux or numpy.
. tests/tmux/lib.sh
PYTHON=${PYTHON:-/usr/bin/python3}
"$PYTHON" -c 'import numpy' 2>/dev/null || { echo "numpy missing: skipped"; exit 77; }
for fam in sdar dream; do
    "$PYTHON" tests/ref/make_qwen_checkpoint.py "$WORK/$fam" --family $fam --seed 4 || fail "generator $fam"
    "$PYTHON" model/convert/prenorm_to_gguf.py "$WORK/$fam" -o "$WORK/$fam.gguf" --type q8_0 --ctx 128 \
        2>/dev/null || fail "conversion $fam"
done
mkdir -p "$WORK/config/bd3ed"
printf 'threads = 1\nseed = 3\nscore-delay-ms = 0\n' > "$WORK/config/bd3ed/config"
printf 'the cat sat on the mat.\nthe dog ate the bone.\nend.\n' > "$WORK/doc.txt"

# SDAR: block-causal only, so infill says the text after the span was not seen
start_editor --model "$WORK/sdar.gguf" doc.txt
wait_for "the cat sat on the mat."

keys S-Right S-Right S-Right C-r
wait_for "model: infilled" 60
screen | grep -q "no global training" || fail "block-only infill does not say what it saw"
screen | head -n 1 | grep -q " cat sat on the mat\.$" || fail "text after the span changed"
screen | grep -q "the dog ate the bone." || fail "next line changed"
keys C-z
wait_for "the cat sat on the mat." 5
keys C-Home End C-n
wait_for "model: continued" 60
screen | grep -q "^the dog ate the bone\.$" || fail "continue changed the text after the cursor"
screen | grep -q "<|im_start|>\|<|endoftext|>" && fail "a control token was written as text"

# Dream: trained for global mode, no such warning
start_editor --model "$WORK/dream.gguf" doc.txt
wait_for "the cat sat on the mat."
keys S-Right S-Right S-Right C-r
wait_for "model: infilled" 60
screen | grep -q "no global training" && fail "a global model says it did not see the text after the span"
screen | grep -q "the dog ate the bone." || fail "next line changed"
echo "all ok"
