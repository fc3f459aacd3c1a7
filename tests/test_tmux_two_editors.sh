#!/bin/sh
# test_tmux_two_editors.sh: two bd3ed editing one file each keep their own recovery text: the
# second is told of the first's unsaved changes, a save in one never deletes the other's, and
# the other's text survives its kill -9. Files whose
# names differ only by '/' and '%' (x/y.txt, x%y.txt) never share a recovery file.
. tests/tmux/lib.sh

# second ARGS...: runs another bd3ed in session "second", with the same environment.
second() {
    sed "s|$WORK/rc|$WORK/rc2|" "$WORK/run.sh" | head -n 2 > "$WORK/run2.sh"
    printf "'%s'" "$BIN" >> "$WORK/run2.sh"
    for a in "$@"; do printf " '%s'" "$a" >> "$WORK/run2.sh"; done
    printf '\n' >> "$WORK/run2.sh"
    tm new-session -d -s second -x 80 -y 24 "sh '$WORK/run2.sh'" || fail "tmux new-session"
}
screen2() { tm capture-pane -p -t second; }
wait_for2() {
    deadline=$(( $(date +%s) + ${2:-30} ))
    until screen2 | grep -F -q -- "$1"; do
        [ "$(date +%s)" -ge "$deadline" ] && fail "second editor: timed out waiting for '$1'"
        sleep 0.05
    done
}

f=$WORK/shared.txt
printf 'base\n' > "$f"
start_editor shared.txt
wait_for " shared.txt"
type_text "first-editor "
wait_grep "first-editor base" "$WORK/state" 30
second shared.txt
wait_for2 "also being edited in another bd3ed"   # told of the first one's unsaved changes
tm send-keys -t second -l -- "second-editor "
wait_grep "second-editor base" "$WORK/state" 30
keys C-s
wait_for "Saved"
[ "$(cat "$f")" = "first-editor base" ] || fail "saved file: '$(cat "$f")'"
grep -r -q -F "second-editor" "$WORK/state" || fail "a save in one editor deleted the other's recovery text"
pid2=$(pgrep -P "$(tm display-message -p -t second '#{pane_pid}')" -x bd3ed | head -n 1)
[ -n "$pid2" ] || fail "cannot find the second editor"
kill -9 "$pid2"
keys C-q
expect_exit 0
start_editor shared.txt
wait_for "Restore them?"
keys y
wait_for "second-editor base"
keys C-q
wait_for "Save before quitting?"
keys n
expect_exit 0
tm kill-session -t second >/dev/null 2>&1

# '/' and '%' in names: each file gets back its own text
mkdir -p "$WORK/x"
printf 'slash\n' > "$WORK/x/y.txt"
printf 'percent\n' > "$WORK/x%y.txt"
for name in x/y.txt x%y.txt; do
    start_editor "$name"
    wait_for "$(basename "$name")"
    type_text "typed-in-$name "
    wait_grep "typed-in-$name" "$WORK/state" 30
    pid=$(editor_pid)
    [ -n "$pid" ] || fail "cannot find the editor process"
    kill -9 "$pid"
    expect_exit 137
done
start_editor x/y.txt
wait_for "Restore them?"
keys y
wait_for "typed-in-x/y.txt slash"
screen | grep -F -q "percent" && fail "x/y.txt recovered the text of x%y.txt"
keys C-s
wait_for "Saved"
keys C-q
expect_exit 0
start_editor x%y.txt
wait_for "Restore them?"
keys y
wait_for "typed-in-x%y.txt percent"
keys C-q
wait_for "Save before quitting?"
keys n
expect_exit 0
[ "$(cat "$WORK/x/y.txt")" = "typed-in-x/y.txt slash" ] || fail "x/y.txt: '$(cat "$WORK/x/y.txt")'"
[ "$(cat "$WORK/x%y.txt")" = "percent" ] || fail "x%y.txt changed: '$(cat "$WORK/x%y.txt")'"
echo "two editors keep their own recovery text; names never collide"
