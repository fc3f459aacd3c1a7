#!/bin/sh
# test_infill_eos.sh: an infill inside a document never writes the end-of-text token: with the
# default model, the first word of a paragraph (where documents start in training) is refilled
# with words, not with "<|endoftext|>". Skips without the default model.
BUILD=${BUILD:-build}
BD3=$BUILD/bd3
MODEL=model/default.gguf
[ -f "$MODEL" ] || { echo "no default model: skipped"; exit 77; }
[ -x "$BD3" ] || { echo "missing $BD3"; exit 1; }
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
printf 'Notes on the lighthouse\n\nThe lighthouse stands on a low spit of rock at the mouth of the harbour.\n' >"$T/doc.txt"
fail=0
for seed in 1 2 3; do
    # bytes 25..28: "The", the first word of the paragraph
    "$BD3" infill -m "$MODEL" -q -t 1 --range 25:28 --length 4 --seed $seed -o "$T/out.txt" "$T/doc.txt" ||
        { echo "infill failed (seed $seed)"; fail=1; continue; }
    if grep -q -F '<|endoftext|>' "$T/out.txt"; then
        echo "infill wrote the end-of-text token (seed $seed): $(sed -n 3p "$T/out.txt")"
        fail=1
    fi
done
[ $fail -eq 0 ] && echo "infill writes no end-of-text token"
exit $fail
