#!/bin/sh
# test_tmux_config.sh: the real bd3ed reads $XDG_CONFIG_HOME/bd3ed/config and user keymaps:
# a bad config line is reported with its line number, a user keymap named in the config is
# used and drives the help screen, a user default.keys extends and overrides the shipped one,
# and a broken user keymap falls back to the default keymap with a message naming file:line.
. tests/tmux/lib.sh

cfg=$WORK/config/bd3ed
mkdir -p "$cfg/keymaps"
printf 'a line of text\n' > "$WORK/t.txt"

# A bad value on line 3 of the config file.
printf 'wrap = on\n\ntab-width = 99\n' > "$cfg/config"
start_editor t.txt
wait_for "config:3: tab-width: 99 is outside 1..16"
keys C-q
expect_exit 0

# Several bad lines: first which lines were skipped, then each reason in turn (a key shows the
# next), so none is cut off at the screen's width; the good line between them is applied.
printf 'wrap = maybe\ntab-width = 99\nline-numbers = on\nbogus = 1\n' > "$cfg/config"
start_editor t.txt
wait_for "lines 1, 2, 4 skipped; the reasons follow"
keys Right
wait_for "config:1: wrap"
keys Right
wait_for "config:2: tab-width"
keys Right
wait_for "config:4: unknown"
screen | grep -q "^ *1 a line of text" || fail "line-numbers = on (line 3) was not applied"
keys C-q
expect_exit 0

# A keymap of the user's own, chosen in the config file; its help screen lists its keys.
printf 'keymap = mini\n' > "$cfg/config"
cat > "$cfg/keymaps/mini.keys" <<'KEYS'
# a small keymap
mode normal self-insert
normal F2   save   save with F2
normal F1   help   keys
normal F10  quit   leave
KEYS
start_editor t.txt
wait_for " t.txt"
type_text "new "
wait_for "new a line of text"
keys F2
wait_for "Saved"
keys F1
wait_for "keys of the mini keymap"
screen | grep -q "^ *F2  *save  *save with F2" || fail "help screen lacks the F2 binding"
screen | grep -q "^ *F10  *quit  *leave" || fail "help screen lacks the F10 binding"
keys F10
expect_exit 0
[ "$(cat "$WORK/t.txt")" = "new a line of text" ] || fail "mini keymap: saved '$(cat "$WORK/t.txt")'"

# A user default.keys that includes the shipped one, unbinds C-s and binds F2 instead.
printf '# defaults\n' > "$cfg/config"
printf 'include default\nnormal C-s none\nnormal F2 save save\n' > "$cfg/keymaps/default.keys"
start_editor t.txt
wait_for " t.txt"
type_text "x"
keys C-s
type_text "y"
wait_for "xynew a line"
screen | grep -F -q "Saved" && fail "C-s still saves after 'normal C-s none'"
keys F2
wait_for "Saved"
keys C-q
expect_exit 0
[ "$(cat "$WORK/t.txt")" = "xynew a line of text" ] || fail "extended default: saved '$(cat "$WORK/t.txt")'"
rm "$cfg/keymaps/default.keys"

# A broken user vi.keys: the editor starts with the default keymap and says why.
printf 'keymap = vi\n' > "$cfg/config"
printf 'mode normal\nnormal i bogus-command\n' > "$cfg/keymaps/vi.keys"
start_editor t.txt
wait_for "vi.keys:2: unknown"
# Typing inserts and C-s saves: the default keymap is active.
type_text "z"
wait_for "zxynew"
keys C-s
wait_for "Saved"
keys C-q
expect_exit 0
rm "$cfg/keymaps/vi.keys"

# A broken user default.keys: the shipped default keymap (not the broken file again) is used,
# and the message names file:line.
printf '# defaults\n' > "$cfg/config"
printf 'include default\nnormal C-s bogus-command\n' > "$cfg/keymaps/default.keys"
start_editor t.txt
wait_for "default.keys:2: unknown command"
type_text "w"
wait_for "wzxynew"
keys C-s
wait_for "Saved"
keys C-q
expect_exit 0
rm "$cfg/keymaps/default.keys"

# Several start-up errors and the new-file note: none hides another; each key shows the next.
printf 'keymap = vi\ntheme = nosuch\nwrap = maybe\n' > "$cfg/config"
printf 'mode normal\nnormal i bogus-command\n' > "$cfg/keymaps/vi.keys"
start_editor fresh.txt
wait_for "config:3: wrap"
wait_for "[+3 more]"
keys Right
wait_for "vi.keys:2: unknown"
keys Right
wait_for "nosuch"
keys Right
wait_for "fresh.txt: new file"
keys C-q
expect_exit 0
echo "config file and user keymaps are applied, and their errors reported"
