#!/bin/sh
# test_tmux_escape.sh: escape sequences inside a file (OSC 0 title, OSC 52 clipboard, CSI clear
# screen and colour, DCS, C1 CSI) are drawn as visible glyphs by the real bd3ed in tmux and never
# reach the terminal: the title stays, no paste buffer appears, the text stays on screen.
. tests/tmux/lib.sh

f=$WORK/evil.txt
{
    printf 'first line stays\n'
    printf 'title: \033]0;pwned\007 after title\n'
    printf 'title2: \033]2;pwned2\033\\ after\n'
    printf 'clear: \033[2J\033[H after clear\n'
    printf 'colour: \033[31mred?\033[0m\n'
    printf 'clipboard: \033]52;c;cHduZWQ=\007 after clipboard\n'
    printf 'dcs: \033P+q544e\033\\ c1 csi: \302\2332J end\n'
    printf 'bell: \007 last line\n'
} > "$f"
cp "$f" "$WORK/orig.txt"

start_editor evil.txt
wait_for " evil.txt"
wait_for "last line"
s=$(screen)
printf '%s\n' "$s" | grep -F -q 'first line stays' || fail "text before the clear sequence was wiped"
printf '%s\n' "$s" | grep -F -q 'title: ^[]0;pwned^G after title' || fail "OSC 0 not shown as ^[ ... ^G"
printf '%s\n' "$s" | grep -F -q 'clear: ^[[2J^[[H after clear' || fail "CSI 2J not shown as ^["
printf '%s\n' "$s" | grep -F -q 'colour: ^[[31mred?^[[0m' || fail "SGR not shown as ^["
printf '%s\n' "$s" | grep -F -q 'clipboard: ^[]52;c;cHduZWQ=^G after' || fail "OSC 52 not shown"
printf '%s\n' "$s" | grep -F -q 'bell: ^G last line' || fail "BEL not shown as ^G"
title=$(tm display-message -p -t main '#{pane_title}')
case "$title" in *pwned*) fail "the file set the terminal title to '$title'";; esac
if [ -n "$(tm list-buffers 2>/dev/null)" ]; then
    fail "an OSC 52 sequence in the file reached the clipboard: $(tm list-buffers)"
fi
# Nothing was drawn in colour from the file: the captured escapes of the line "colour:" hold
# no red foreground (SGR 31) that the file's own sequence would have produced.
tm capture-pane -e -p -t main | grep -F 'colour:' | grep -q "$(printf '\033')\\[31m" &&
    fail "the file's SGR 31 reached the terminal"
keys C-q
expect_exit 0
cmp "$WORK/orig.txt" "$f" || fail "file changed"
echo "escape sequences in a file are shown as glyphs and not executed"
