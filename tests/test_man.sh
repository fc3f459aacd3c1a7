#!/bin/sh
# test_man.sh: the manual page names every key of the default keymap outside the Shift+motion
# selection keys (which it describes as a group), every model key of the vi keymap and every
# config option, and uses no unknown roff requests.
man=man/bd3ed.1
keys=keymaps/default.keys
[ -f "$man" ] && [ -f "$keys" ] || { echo "missing $man or $keys"; exit 1; }
# Roff source with the escapes of keys undone: "C\-x" -> "C-x", "\e" -> "\".
text=$(sed -e 's/\\-/-/g' -e 's/\\e/\\/g' "$man")
missing=0
for key in $(awk '$1 == "normal" && $3 !~ /^select-/ || $3 ~ /^select-(all|word|sentence|paragraph|line)$/ { if ($1 == "normal") print $2 }' "$keys"); do
    k=$(printf '%s' "$key" | sed 's/Comma$/,/')
    if ! printf '%s\n' "$text" | grep -F -q -- "$k"; then
        echo "man page does not mention key $key"
        missing=$((missing + 1))
    fi
done
# Every model key of the vi keymap's normal mode (\,i in the keymap, \ei in the page).
for key in $(awk '$1 == "normal" && $3 ~ /^model-/ { print $2 }' keymaps/vi.keys); do
    k=$(printf '%s' "$key" | sed 's/,//')
    if ! printf '%s\n' "$text" | grep -F -q -- "$k"; then
        echo "man page does not mention vi key $key"
        missing=$((missing + 1))
    fi
done
# Every option of the built-in defaults (editor/config.c) is described under CONFIGURATION.
opts=$(sed -n 's/^ *"\([a-z-]*\) = .*/\1/p' editor/config.c)
[ -n "$opts" ] || { echo "no options found in editor/config.c"; missing=$((missing + 1)); }
section=$(printf '%s\n' "$text" | sed -n '/^\.SH CONFIGURATION/,/^\.SH FILES/p')
for opt in $opts; do
    if ! printf '%s\n' "$section" | grep -q -w -F -- "$opt"; then
        echo "man page does not describe option $opt"
        missing=$((missing + 1))
    fi
done
# Every option is named under OPTIONS as --NAME, and the bare and --no- forms of booleans and
# the space-separated form are described there.
options=$(printf '%s\n' "$text" | sed -n '/^\.SH OPTIONS/,/^\.SH KEYS/p')
for opt in $opts; do
    if ! printf '%s\n' "$options" | grep -q -F -- "--$opt"; then
        echo "man page OPTIONS does not name --$opt"
        missing=$((missing + 1))
    fi
done
for form in "--no-wrap" "--line-numbers" "--tab-width 4" "--no-"; do
    if ! printf '%s\n' "$options" | grep -q -F -- "$form"; then
        echo "man page OPTIONS does not describe the form $form"
        missing=$((missing + 1))
    fi
done
# Every request line uses a macro this page is allowed to use.
bad=$(grep -E '^\.[A-Za-z]' "$man" | awk '{print $1}' | sort -u | grep -v -x -E '\.(TH|SH|SS|TP|PP|B|I|BR|BI|IR|RB|RI|br)')
if [ -n "$bad" ]; then echo "unexpected requests: $bad"; missing=$((missing + 1)); fi
[ $missing -eq 0 ] && echo "man page covers the default keymap"
[ $missing -eq 0 ]
