#!/bin/sh
# test_stdin_limit.sh: "bd3ed -" with an endless standard input (/dev/zero) stops at the limit
# with a clear message instead of reading until memory runs out.
BUILD=${BUILD:-build}
BIN=$(pwd)/$BUILD/bd3ed
[ -x "$BIN" ] || { echo "no $BIN (run make first)"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bd3ed-stdin.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
HOME=$WORK XDG_STATE_HOME=$WORK/state XDG_CONFIG_HOME=$WORK/config TERM=xterm \
    "$BIN" - < /dev/zero > "$WORK/out" 2> "$WORK/err"
rc=$?
[ $rc -ne 0 ] || { echo "FAIL: exit status 0"; exit 1; }
grep -q "standard input is larger than 1024 MiB" "$WORK/err" ||
    { echo "FAIL: message: $(cat "$WORK/err")"; exit 1; }
grep -q "Success" "$WORK/err" && { echo "FAIL: says Success"; exit 1; }
echo "endless standard input refused with a message"
