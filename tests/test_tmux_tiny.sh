#!/bin/sh
# test_tmux_tiny.sh: the real bd3ed in a terminal of one and of two rows draws nothing outside
# the screen: one row shows only the text's row, or the prompt while one is open; two rows show
# the text and the message line. A message on one row covers the text until the next key.
. tests/tmux/lib.sh

# wait_rows TEXT: waits until the whole pane (its rows joined by '|') reads TEXT.
wait_rows() {
    deadline=$(( $(date +%s) + 30 ))
    while :; do
        got=$(screen | sed 's/ *$//' | tr '\n' '|')
        [ "$got" = "$1" ] && return 0
        [ "$(date +%s)" -ge "$deadline" ] && fail "pane reads '$got', want '$1'"
        sleep 0.05
    done
}

printf 'first line of it\nsecond line\n' > "$WORK/a.txt"
start_editor a.txt
wait_for " a.txt"
tm resize-window -t main -x 40 -y 1
wait_rows "first line of it|"
keys End
type_text "!"
wait_rows "first line of it!|"
keys M-x
wait_rows ":|"
type_text "abc"
wait_rows ": abc|"
keys Escape
wait_rows "Cancelled|"
keys Left
wait_rows "first line of it!|"
tm resize-window -t main -x 40 -y 2
wait_rows "first line of it!|Cancelled|" # two rows: the message line is back
keys C-q
wait_for "before quitting?"
got=$(screen | head -n 1 | sed 's/ *$//')
[ "$got" = "first line of it!" ] || fail "the text row reads '$got'"
keys c
wait_gone "before quitting?"
# back to one row: a message (it ended in the last column once) covers the text until a key
tm resize-window -t main -x 40 -y 1
wait_rows "first line of it!|"
keys C-s
wait_rows "Saved a.txt (30 bytes)|"
keys Left
wait_rows "first line of it!|"
keys C-q
expect_exit 0
grep -q -F "first line of it!" "$WORK/a.txt" || fail "the save did not write the file"
echo "one- and two-row terminals show the text, prompt and message and nothing else"
