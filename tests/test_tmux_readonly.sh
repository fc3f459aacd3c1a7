#!/bin/sh
# test_tmux_readonly.sh: a read-only file (mode 0444) shows [RO] in the status line; saving asks
# first ("n" leaves the file alone, "y" writes it and keeps its mode); a failed Save As keeps
# the buffer's name.
. tests/tmux/lib.sh

f=$WORK/ro.txt
printf 'locked\n' > "$f"
chmod 0444 "$f"
start_editor ro.txt
wait_for "[RO]"
type_text "edit "
keys C-s
wait_for "is read-only. Write it anyway?"
keys n
wait_for "Not saved"
[ "$(cat "$f")" = "locked" ] || fail "declined save changed the file: '$(cat "$f")'"
keys C-s
wait_for "Write it anyway?"
keys y
wait_for "Saved"
[ "$(cat "$f")" = "edit locked" ] || fail "confirmed save: '$(cat "$f")'"
[ "$(stat -c %a "$f")" = "444" ] || fail "mode changed to $(stat -c %a "$f")"
# Save As into a folder that does not exist: an error naming it, the name stays
type_text "more "
keys M-s
wait_for "Save as:"
for i in 1 2 3 4 5 6 7 8 9 10; do keys BSpace; done
type_text "$WORK/no-such-folder/x.txt"
keys Enter
wait_for "no-such-folder"
screen | grep -F -q " ro.txt" || fail "the buffer lost its name after a failed Save As"
keys C-q
wait_for "Save before quitting?"
keys n
expect_exit 0
echo "read-only file marked and confirmed; failed Save As keeps the name"
