#!/bin/sh
# Script test: options whose meaning is easy to get wrong are described in the same words by
# `bd3ed --help`, the manual page and the README (case, roff escapes, markdown quotes and line
# breaks aside); C-k is called a cut everywhere; `--` is in `bd3ed --help`; `bd3 --help` names
# --version and bd3.1 gives both forms of every short option of bd3.
BUILD=${BUILD:-build}
[ -x "$BUILD/bd3ed" ] || { echo "$BUILD/bd3ed not built"; exit 1; }
norm() { sed -e 's/\\-/-/g' -e 's/`//g' -e 's/^\.[A-Z]* //' | tr 'A-Z\n' 'a-z ' | tr -s ' '; }
man=$(norm < man/bd3ed.1)
readme=$(norm < README.md)
fail=0
for opt in infill-length final-newline; do
    # "  --NAME   [on/off: ]HELP (default: X)" -> HELP
    help=$("$BUILD/bd3ed" --help | sed -n "s/^ *--$opt  *\(.*\) (default: .*)\$/\1/p" | sed 's|^on/off: ||' | norm | sed 's/ *$//')
    [ -n "$help" ] || { echo "--help does not describe $opt"; fail=1; continue; }
    printf '%s' "$man" | grep -q -F -- "$help" || { echo "man page does not say of $opt: $help"; fail=1; }
    printf '%s' "$readme" | grep -q -F -- "$help" || { echo "README does not say of $opt: $help"; fail=1; }
done
# `--` (end of options) is in the man page and in `bd3ed --help`.
printf '%s' "$man" | grep -q -F -- " -- every later argument is a file name" || { echo "man page lacks --"; fail=1; }
"$BUILD/bd3ed" --help | grep -q -E -- '^ +-- +every later argument is a file name' || { echo "bd3ed --help lacks --"; fail=1; }
# C-k puts the line in the register: help screen (the default keymap's text), man page and README
# all say it cuts, none that it deletes.
keys_ck=$(awk '$1 == "normal" && $2 == "C-k" { $1 = $2 = $3 = ""; print }' keymaps/default.keys | norm)
man_ck=$(sed -e 's/\\-/-/g' man/bd3ed.1 | sed -n '/^\.B C-k$/{n;p;q}' | norm)
readme_ck=$(sed -n 's/.*| C-k | \([^|]*\) |.*/\1/p' README.md | norm)
for w in "keymap:$keys_ck" "man page:$man_ck" "README:$readme_ck"; do
    case "${w#*:}" in
    *cut*) case "${w#*:}" in *delete*) echo "${w%%:*} says C-k deletes: ${w#*:}"; fail=1 ;; esac ;;
    *) echo "${w%%:*} does not say C-k cuts: '${w#*:}'"; fail=1 ;;
    esac
done
# bd3: `bd3 --help` names --version; every "-X, --LONG" of a command's --help is in bd3.1 in
# both forms.
BD3=$BUILD/bd3
if [ -x "$BD3" ]; then
    "$BD3" --help | grep -q -F -- "--version" || { echo "bd3 --help does not list --version"; fail=1; }
    bd3man=$(sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' man/bd3.1)
    for c in info tokenize logits generate infill revise score ppl bench; do "$BD3" $c --help; done |
        sed -n 's/^ *\(-[a-zA-Z]\), \(--[a-z-]*\).*/\1 \2/p' | sort -u >"${TMPDIR:-/tmp}/bd3-opts.$$"
    while read -r short long; do
        printf '%s\n' "$bd3man" | grep -q -- "$short\([^a-z-]\|$\)" || { echo "bd3.1 lacks $short"; fail=1; }
        printf '%s\n' "$bd3man" | grep -q -- "$long\([^a-z-]\|$\)" || { echo "bd3.1 lacks $long (the long form of $short)"; fail=1; }
    done <"${TMPDIR:-/tmp}/bd3-opts.$$"
    [ -s "${TMPDIR:-/tmp}/bd3-opts.$$" ] || { echo "no short options found in bd3 --help"; fail=1; }
    rm -f "${TMPDIR:-/tmp}/bd3-opts.$$"
fi
[ $fail -eq 0 ] && echo "option descriptions agree"
exit $fail
