#!/bin/sh
# test_tmux_model_busy.sh: the editor answers keys while a long model job runs: typed text
# appears while the status line still shows the job; Esc then cancels it and restores the text
# under it (the typed text stays). Skips (77) without tmux or a model.
. tests/tmux/lib.sh
. tests/tmux/model.sh
pick_model slow
model_config "seed = 5" "infill-length = 400" "sampler = first-hitting"

i=0
: > "$WORK/doc.txt"
while [ $i -lt 12 ]; do
    echo "Line $i of a document that the model will extend at its end." >> "$WORK/doc.txt"
    i=$((i + 1))
done
start_editor doc.txt
wait_for "Line 11 of a document"

# insert 400 tokens at the end: a job of many model calls
keys C-End C-r
wait_for "infill " 30
keys C-Home
type_text "hello "
wait_for "hello Line 0 of" 10
screen | grep -q "infill [0-9]*/400" || fail "the job ended before the typed text was shown"

# Esc cancels: the placeholders and tokens go, the typed text stays
keys Escape
wait_for "model: cancelled" 10
wait_gone "infill " 10
screen | grep -q "░" && fail "placeholders left after cancel"
screen | grep -q "^hello Line 0 of" || fail "typed text lost"
tail_line=$(screen | grep -n "Line 11 of a document that the model will extend at its end\.$")
[ -n "$tail_line" ] || fail "the last line was not restored"

# saving while a job runs writes the text without the job's placeholders and does not stop it
keys C-End C-r
wait_for "infill " 30
keys C-s
wait_for "Saved" 10
screen | grep -q "infill " || fail "saving ended the job"
grep -q "^hello Line 0" "$WORK/doc.txt" || fail "file not saved"
grep -q "░" "$WORK/doc.txt" && fail "placeholders were saved"
tail -n 1 "$WORK/doc.txt" | grep -q "^Line 11 of a document that the model will extend at its end\.$" ||
    fail "the saved file does not end with the original text"
# the cancelled job left no change: the text is the saved one, so quitting asks nothing
keys Escape
wait_for "model: cancelled" 10
keys C-q
# quitting waits for the model call in progress to end: a fraction
# of a second here, over ten under ThreadSanitizer with the default model
wait_exit 60
[ "$(cat "$WORK/rc")" = 0 ] || fail "editor exit status"
echo "model busy ok"
