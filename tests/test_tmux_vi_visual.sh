#!/bin/sh
# test_tmux_vi_visual.sh: in the real bd3ed with the vi keymap, the cells drawn as selected in
# visual mode are exactly the text d then deletes: both ends, in either direction, a whole wide
# character, and the line end after v $ (drawn as one selected blank); V selects whole lines.
. tests/tmux/lib.sh

ESC=$(printf '\033')
mkdir -p "$WORK/config/bd3ed"
printf 'keymap = vi\ntheme = mono\n' > "$WORK/config/bd3ed/config"

# selected: the text of the first line drawn reversed (the mono theme's selection), waiting
# until exactly WANT is (the frame may come a moment after the keys).
selected() {
    deadline=$(( $(date +%s) + 30 ))
    while :; do
        got=$(tm capture-pane -e -N -p -t main | head -n 1 |
            sed -e "s/$ESC\\[7m/{/g" -e "s/$ESC\\[[0-9;]*m/}/g" | sed -n 's/^[^{]*{\([^}]*\).*/\1/p')
        [ "$got" = "$1" ] && return 0
        [ "$(date +%s)" -ge "$deadline" ] && fail "selected '$got', want '$1'"
        sleep 0.05
    done
}

printf 'hello w\344\270\255rld\nnext\n' > "$WORK/s.txt"
start_editor s.txt
wait_for "normal"
keys l l v l l
wait_for "visual"
selected "llo"
keys d
wait_for "he w"
keys '$' v h h h
selected "中rld"
keys Escape
wait_for "normal"
keys 0 v '$'
selected "he w中rld "
keys d
wait_for "next"
wait_gone "he w"
# V: the status line says "visual line" and the whole line is drawn selected, line end too;
# v then makes it the cursor's character alone.
keys V
wait_for "visual line"
selected "next "
keys v
wait_gone "visual line"
selected "n"
keys Escape
wait_for "normal"
keys Z Q
wait_for "Save"
keys n
wait_exit
echo "vi visual mode draws selected exactly what d deletes"
