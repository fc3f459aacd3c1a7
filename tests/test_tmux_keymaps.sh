#!/bin/sh
# test_tmux_keymaps.sh: open, edit, save and quit with each shipped keymap in the real bd3ed:
# default (no config), vi (--keymap vi), emacs (chosen in the config file).
. tests/tmux/lib.sh

# default: type, select a word with Shift+Left, cut, paste at the line start, save, quit.
start_editor d.txt
wait_for " d.txt"
type_text "hello world"
wait_for "hello world"
keys S-Left S-Left S-Left S-Left S-Left C-x
wait_for " d.txt [+]"
wait_gone "hello world" 10   # fails (times out) when C-x did not cut the selected word
keys Home C-v
wait_for "worldhello"
keys C-s
wait_for "Saved"
keys C-q
expect_exit 0
[ "$(cat "$WORK/d.txt")" = "worldhello " ] || fail "default: saved '$(cat "$WORK/d.txt")'"

# vi: insert mode, back to normal, 0 and x with a count, :w, ZZ.
start_editor --keymap vi v.txt
wait_for "normal"
keys i
wait_for "insert"
type_text "hello vi"
wait_for "hello vi"
keys Escape
wait_for "normal"
keys 0 x
wait_gone "hello vi"
wait_for "ello vi"
keys 2 x
wait_gone "ello vi"
wait_for "lo vi"
keys :
type_text "w"
keys Enter
wait_for "Saved"
keys Z Z
expect_exit 0
[ "$(cat "$WORK/v.txt")" = "lo vi" ] || fail "vi: saved '$(cat "$WORK/v.txt")'"

# emacs, chosen in the config file: C-a, C-d, C-e, C-x C-s, C-x C-c.
mkdir -p "$WORK/config/bd3ed"
printf '# test config\nkeymap = emacs\n' > "$WORK/config/bd3ed/config"
start_editor e.txt
wait_for " e.txt"
type_text "hello emacs"
wait_for "hello emacs"
keys C-a C-d
wait_gone "hello emacs"
wait_for "ello emacs"
keys C-e
type_text "!"
wait_for "ello emacs!"
keys C-x C-s
wait_for "Saved"
keys C-x C-c
expect_exit 0
[ "$(cat "$WORK/e.txt")" = "ello emacs!" ] || fail "emacs: saved '$(cat "$WORK/e.txt")'"
echo "default, vi and emacs keymaps open, edit, save and quit"
