#!/bin/sh
# test_tmux_model_keys.sh: the model keys of the default keymap in the real editor under tmux:
# Ctrl-R infill (again, grow), undo as one step, Ctrl-N continue, Ctrl-E heatmap legend, Alt-I
# inspect and choose, Alt-R revise, Alt-B fill the blanks (again, Alt-< back, one undo step).
# Skips (77) without tmux or a model.
. tests/tmux/lib.sh
. tests/tmux/model.sh
pick_model small
model_config "seed = 3" "score-delay-ms = 0"

printf 'The cat sat on the mat.\nA dog ran to the park.\nEnd.\n' > "$WORK/doc.txt"
start_editor doc.txt
wait_for "The cat sat on the mat."

# infill the selected first word; the rest of the line stays; undo takes it back
keys S-Right S-Right S-Right C-r
wait_for "model: infilled" 60
screen | head -n 1 | grep -q " cat sat on the mat\.$" || fail "text after the span changed"
screen | grep -q "A dog ran to the park." || fail "next line changed"
n=$(screen | tail -n 1 | sed -n 's/.*infilled \([0-9]*\) token.*/\1/p')
keys M-=
wait_for "model: infilled $((n + 1)) tokens (sample 2" 60
keys C-z
wait_for "The cat sat on the mat." 5 # the infill with its samples is one undo step
screen | grep -q "░" && fail "a mask placeholder was left"

# continue after the end of the first line; what follows stays
keys C-Home End C-n
wait_for "model: continued" 60
screen | grep -q "^A dog ran to the park\.$" || fail "continue changed the text after the cursor"
screen | head -n 1 | grep -q "^The cat sat on the mat\." || fail "continue changed the text before the cursor"
keys C-z
wait_for "The cat sat on the mat." 5

# heatmap: the legend appears in the status line, the text gets colours (the person's text is
# scored in the background), and both go with the second press
plain=$(tm capture-pane -p -e -t main | head -n 2)
keys C-e
wait_for "conf 0 1 2 3 4" 10
deadline=$(( $(date +%s) + 60 ))
while [ "$(tm capture-pane -p -e -t main | head -n 2)" = "$plain" ]; do
    [ "$(date +%s)" -ge "$deadline" ] && fail "the heatmap coloured nothing"
    sleep 0.05
done
keys C-e
wait_gone "conf 0 1 2 3 4" 10

# inspect: alternatives with probabilities; choosing one replaces the token; undo restores
keys C-Home Right
keys M-i
wait_for "Alternatives: 1'" 60
screen | tail -n 1 | grep -q "%" || fail "alternatives without probabilities"
keys 1 Enter
wait_gone "Alternatives:" 10
keys C-z
wait_for "The cat sat on the mat." 5

# revise the selection
keys C-Home S-Down
keys M-r
wait_for "model: revised" 60
screen | grep -q "^End\.$" || fail "revise changed text outside the selection"

# fill in the blanks: both in one go, the text between stays; again, back, one undo step
keys C-End
type_text "The ___ ran to the ___."
wait_for "The ___ ran to the ___." 5
keys M-b
wait_for "model: filled 2 blanks" 60
screen | grep -q "___" && fail "a blank was left"
screen | grep -q " ran to the" || fail "fill changed the text between the blanks"
keys Left M-b
wait_for "(sample 2;" 60
keys 'M-<'
wait_for "sample 1 of 2" 10
keys C-z
wait_for "The ___ ran to the ___." 5

keys C-q
wait_for "Save" 5
keys n
# quitting waits for the model call in progress to end: a fraction
# of a second here, over ten under ThreadSanitizer with the default model
wait_exit 60
[ "$(cat "$WORK/rc")" = 0 ] || fail "editor exit status"
echo "model keys ok"
