#!/bin/sh
# Script test: tests/check-deps.sh passes on the sources and fails on a copy with each layer
# rule broken in turn (curses outside term.c, an editor header in model/, bd3.h outside the
# editor's model files, editor-core.h outside the core).
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
sh tests/check-deps.sh >/dev/null || { echo "the sources break a layer rule"; exit 1; }
n=0
breaks() {   # breaks FILE LINE: a copy with LINE added to FILE must fail
    rm -rf "$tmp/r"; mkdir -p "$tmp/r"
    cp -r editor model "$tmp/r/"
    printf '%s\n' "$2" >> "$tmp/r/$1"
    if sh tests/check-deps.sh "$tmp/r" >"$tmp/out" 2>&1; then
        echo "not caught: $2 in $1"; exit 1
    fi
    grep -q "^check-deps: $1 " "$tmp/out" || { echo "wrong report for $1:"; cat "$tmp/out"; exit 1; }
    n=$((n + 1))
}
breaks editor/view.c '#include <curses.h>'
breaks model/ops.c '#include <ncursesw/curses.h>'
breaks model/ops.c '#include "text.h"'
breaks editor/main.c '#include "bd3.h"'
breaks editor/term.c '#include "editor-core.h"'
breaks editor/model-editor.c '#include "model-session-core.h"'
echo "check-deps catches $n broken rules"
