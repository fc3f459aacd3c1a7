#!/bin/sh
# test_tmux_roundtrip.sh: the real bd3ed in tmux keeps a hostile file (invalid UTF-8, NUL, CRLF,
# control bytes, a 200 000-byte line, no final newline) byte-identical through open+quit,
# open+save, edit+undo+save, and changes only what was typed in an edit at both ends.
. tests/tmux/lib.sh
. tests/tmux/hostile.sh

orig=$WORK/orig.txt
make_hostile "$orig"

# 1. Open and quit without changes: the file is untouched.
cp "$orig" "$WORK/a.txt"
start_editor a.txt
wait_for " a.txt"
screen | grep -F -q '<ff><fe>' || fail "invalid bytes not shown as <ff><fe>"
screen | grep -F -q 'a^@b^@^@c' || fail "NUL bytes not shown as ^@"
keys C-q
expect_exit 0
cmp "$orig" "$WORK/a.txt" || fail "open+quit changed the file"

# 2. Open, save unmodified, quit.
start_editor a.txt
wait_for " a.txt"
keys C-s
wait_for "Saved"
keys C-q
expect_exit 0
cmp "$orig" "$WORK/a.txt" || fail "open+save changed the file"

# 3. Type, undo, save: identical again.
start_editor a.txt
wait_for " a.txt"
type_text "typed words"
wait_for "typed words"
wait_for "[+]"
# A typed run is undone word by word; extra undos at the file's own state change nothing.
keys C-z C-z C-z C-z C-z
wait_gone "typed"
wait_gone "[+]"
keys C-s
wait_for "Saved"
keys C-q
expect_exit 0
cmp "$orig" "$WORK/a.txt" || fail "edit+undo+save changed the file"

# 4. Insert at the start and at the end: exactly those bytes change.
start_editor a.txt
wait_for " a.txt"
type_text "START"
wait_for "STARTplain ascii line"
keys C-End
type_text "END"
wait_for "no final newlineEND"
keys C-s
wait_for "Saved"
keys C-q
expect_exit 0
{ printf 'START'; cat "$orig"; printf 'END'; } > "$WORK/want.txt"
cmp "$WORK/want.txt" "$WORK/a.txt" || fail "edited file differs from the expected bytes"

# 5. Quitting with changes asks; answering no leaves the file untouched.
cp "$orig" "$WORK/b.txt"
start_editor b.txt
wait_for " b.txt"
type_text "discard me"
wait_for "discard me"
keys C-q
wait_for "Save before quitting?"
keys n
expect_exit 0
cmp "$orig" "$WORK/b.txt" || fail "discarded changes reached the file"
echo "hostile file round trips are byte-identical"
