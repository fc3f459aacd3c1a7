#!/bin/sh
# Script test: after a build with one PREFIX, `make install PREFIX=...` with another installs a
# bd3 and a bd3ed that look for their data under the new PREFIX (the data folder is rebuilt into
# them). Works on a copy of the build folder, so $BUILD keeps the default PREFIX.
# BD3ED_MAKE_VARS (set by make check): the variables $BUILD was built with (SANITIZE, CC).
BUILD=${BUILD:-build}
[ -f model/default.gguf ] || { echo "no model/default.gguf to install"; exit 77; }
[ -x "$BUILD/bd3" ] && [ -x "$BUILD/bd3ed" ] || { echo "$BUILD not built"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# a copy of the built objects (times kept, so make rebuilds only what the PREFIX changes)
mkdir -p "$tmp/build"
cp -pr "$BUILD/model" "$BUILD/editor" "$BUILD/libbd3.a" "$BUILD/libbd3ed.a" "$BUILD/bd3" "$BUILD/bd3ed" "$tmp/build/"
[ -f "$BUILD/datadir.stamp" ] && cp -p "$BUILD/datadir.stamp" "$tmp/build/"
unset BD3_MODEL
for p in a b; do
    # shellcheck disable=SC2086 # BD3ED_MAKE_VARS is a list of NAME=VALUE words
    make -s $BD3ED_MAKE_VARS BUILD="$tmp/build" PREFIX="$tmp/$p" install >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log"; exit 1; }
    out=$("$tmp/$p/bin/bd3" info 2>&1) || { echo "bd3 installed under PREFIX=$tmp/$p: $out"; exit 1; }
    # the editor's keymaps come from the same data folder
    strings "$tmp/$p/bin/bd3ed" | grep -qx "$tmp/$p/share/bd3ed" ||
        { echo "bd3ed installed under PREFIX=$tmp/$p does not look in $tmp/$p/share/bd3ed"; exit 1; }
done
echo "bd3 and bd3ed find their data under each PREFIX they were installed to"
