#!/bin/sh
# Script test: options whose meaning is easy to get wrong are described in the same words by
# `bd3ed --help`, the manual page and the README (case, roff escapes, markdown quotes and line
# breaks aside).
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
[ $fail -eq 0 ] && echo "option descriptions agree"
exit $fail
