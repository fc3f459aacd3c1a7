#!/bin/sh
# test_tmux_themes.sh: the real bd3ed draws a selection with the theme's colours reduced to the
# terminal: 256-colour SGR on tmux-256color, one of the 8 basic colours on an 8-colour terminal
# type, and attributes only with the mono theme or on a terminal without colours.
. tests/tmux/lib.sh

printf 'some selected text\nsecond line\n' > "$WORK/t.txt"
ESC=$(printf '\033')

# first_line THEME: the first pane line with its SGR sequences, after select-all.
first_line() {
    start_editor --theme "$1" t.txt
    wait_for " t.txt"
    keys C-a
    # Selecting changes the SGR of the text; wait until the first line carries any SGR.
    deadline=$(( $(date +%s) + 30 ))
    until tm capture-pane -e -p -t main | head -n 1 | grep -q "$ESC\\["; do
        [ "$(date +%s)" -ge "$deadline" ] && fail "$1: selection not drawn with attributes"
        sleep 0.05
    done
    line=$(tm capture-pane -e -p -t main | head -n 1)
    keys C-q
    expect_exit 0
}

first_line dark
printf '%s' "$line" | grep -q "48;5;[0-9]*m" || fail "dark on tmux-256color: no 256-colour background: $line"
first_line mono
printf '%s' "$line" | grep -q "$ESC\\[7m" || fail "mono: selection not reversed: $line"
printf '%s' "$line" | grep -q "[34]8;5;" && fail "mono: colours used: $line"

if infocmp screen >/dev/null 2>&1; then
    EDITOR_TERM=screen
    first_line cb-safe
    printf '%s' "$line" | grep -q "4[0-7]m\\|4[0-7];" || fail "cb-safe on an 8-colour terminal: no basic background: $line"
    printf '%s' "$line" | grep -q "[34]8;5;" && fail "cb-safe on an 8-colour terminal: 256-colour SGR: $line"
fi
if infocmp vt100 >/dev/null 2>&1; then
    EDITOR_TERM=vt100
    first_line dark
    printf '%s' "$line" | grep -q "$ESC\\[7m\\|;7m" || fail "dark without colours: selection not reversed: $line"
    printf '%s' "$line" | grep -q "[34][0-9];\\?[0-9]*m" && fail "dark without colours: colours used: $line"
fi
echo "themes reduce to the terminal's colours"
