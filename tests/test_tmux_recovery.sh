#!/bin/sh
# test_tmux_recovery.sh: text typed into the real bd3ed survives kill -9: the recovery file is
# written while typing stops, the next open offers it, accepting restores the text, saving
# writes it and removes the recovery file; the same for an unnamed buffer, offered on the next
# start without a file.
. tests/tmux/lib.sh

f=$WORK/notes.txt
printf 'base line\n' > "$f"
start_editor notes.txt
wait_for " notes.txt"
type_text "recovered words "
wait_for "recovered words base line"
# The recovery write happens a few seconds after the last change: poll for it.
wait_grep "recovered words base line" "$WORK/state" 30
pid=$(editor_pid)
[ -n "$pid" ] || fail "cannot find the editor process"
kill -9 "$pid"
expect_exit 137
[ "$(cat "$f")" = "base line" ] || fail "the file itself changed before saving"

start_editor notes.txt
wait_for "Restore them?"
keys y
wait_for "recovered words base line"
wait_for "[+]"
keys C-s
wait_for "Saved"
keys C-q
expect_exit 0
[ "$(cat "$f")" = "recovered words base line" ] || fail "saved file: '$(cat "$f")'"
if grep -r -q -F "recovered words" "$WORK/state" 2>/dev/null; then
    fail "the recovery file is still there after saving"
fi

# Declining the offer keeps the file as it is on disk and removes the recovery file.
start_editor notes.txt
wait_for " notes.txt"
type_text "second "
wait_grep "second recovered" "$WORK/state" 30
pid=$(editor_pid)
[ -n "$pid" ] || fail "cannot find the editor process"
kill -9 "$pid"
expect_exit 137
start_editor notes.txt
wait_for "Restore them?"
keys n
wait_for "recovered words base line"
screen | grep -F -q "second" && fail "declined recovery text is shown"
keys C-q
expect_exit 0
grep -r -q -F "second" "$WORK/state" 2>/dev/null && fail "declined recovery file kept"
[ "$(cat "$f")" = "recovered words base line" ] || fail "file changed after declining"
# An unnamed buffer ([new]) is kept too; the next start without a file offers it.
start_editor
wait_for "[new]"
type_text "unnamed draft"
wait_grep "unnamed draft" "$WORK/state" 30
pid=$(editor_pid)
[ -n "$pid" ] || fail "cannot find the editor process"
kill -9 "$pid"
expect_exit 137
start_editor
wait_for "Restore it?"
keys y
wait_for "unnamed draft"
keys C-s
wait_for "Save as"
type_text "draft.txt"
keys Enter
wait_for "Saved"
keys C-q
expect_exit 0
[ "$(cat "$WORK/draft.txt")" = "unnamed draft" ] || fail "saved draft: '$(cat "$WORK/draft.txt")'"
grep -r -q -F "unnamed draft" "$WORK/state" 2>/dev/null && fail "unnamed recovery file kept after saving"
echo "kill -9 recovery restores the typed text"
