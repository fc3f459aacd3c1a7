#!/bin/sh
# test_tmux_keys.sh: every non-printable key named in the shipped keymaps reaches the real bd3ed
# through a terminal (tmux, TERM=tmux-256color) as the key the keymap parser gives that name:
# a keymap binding only that key (to insert-tab, no self-insert) must see the cursor move.
. tests/tmux/lib.sh

# Distinct keys of all shipped keymaps that carry a modifier or are named keys (not C-q, used
# to quit). Printable characters are typed text, not terminal sequences.
list=$(awk '$1 !~ /^#/ && NF >= 3 && $1 != "mode" && $1 != "include" { print $2 }' \
        keymaps/default.keys keymaps/vi.keys keymaps/emacs.keys | tr ',' '\n' |
       grep -E '^(C-|M-|S-)|^(Up|Down|Left|Right|Home|End|PageUp|PageDown|Insert|Delete|Backspace|Enter|Tab|Esc|F[0-9]+)$' |
       grep -v -x 'C-q' | sort -u)
[ -n "$list" ] || fail "no keys found in keymaps/*.keys"
# C-/ and C-_ are the same byte (0x1f) on a terminal: emacs.keys binds both spellings to undo,
# and what arrives is C-_.
list=$(printf '%s\n' "$list" | grep -v -x -e 'C-/')

# tmux's name for one of our key names.
tmux_name() {
    printf '%s' "$1" | sed -e 's/Delete$/DC/' -e 's/Insert$/IC/' -e 's/PageUp$/PPage/' \
        -e 's/PageDown$/NPage/' -e 's/Backspace$/BSpace/' -e 's/Esc$/Escape/' \
        -e 's/Comma$/,/'
}

# One editor run per key, with a keymap that binds only that key (to insert-tab) in a mode
# without self-insert: the cursor moves only if exactly that key arrived.
mkdir -p "$WORK/config/bd3ed"
printf 'wrap = off\ntab-width = 1\n' > "$WORK/config/bd3ed/config"
bad=""
n=0
for k in $list; do
    n=$((n + 1))
    printf 'mode normal\nnormal C-q quit quit\nnormal %s insert-tab probe\n' "$k" > "$WORK/probe.keys"
    start_editor --keymap "$WORK/probe.keys" p.txt
    wait_for " 1:1"
    keys "$(tmux_name "$k")"
    deadline=$(( $(date +%s) + 6 ))
    until screen | grep -q " 1:2\$"; do
        if [ "$(date +%s)" -ge "$deadline" ]; then bad="$bad $k"; break; fi
        sleep 0.02
    done
    keys C-q
    if screen | grep -q " 1:2\$"; then
        wait_for "Save before quitting?"
        keys n
    fi
    expect_exit 0
done
[ -z "$bad" ] || fail "keys that did not arrive as bound:$bad"
echo "all $n modified and named keys of the shipped keymaps arrive as themselves"
