# lib.sh: helpers for the tests that drive the real bd3ed binary inside a private tmux server
# (sourced by tests/test_tmux_*.sh; POSIX sh). Skips (exit 77) when tmux is missing.
# Every wait polls the pane with a deadline; no fixed sleeps decide a result.

command -v tmux >/dev/null 2>&1 || { echo "tmux not installed: skipped"; exit 77; }
BUILD=${BUILD:-build}
ROOT=$(pwd)
BIN=$ROOT/$BUILD/bd3ed
[ -x "$BIN" ] || { echo "no $BIN (run make first)"; exit 1; }

TMUX_SOCK="bd3ed-test-$$"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bd3ed-tmux.XXXXXX")
mkdir -p "$WORK/home" "$WORK/config" "$WORK/runtime"
chmod 700 "$WORK/runtime"
cat > "$WORK/tmux.conf" <<CONF
set -g default-terminal tmux-256color
set -g remain-on-exit on
set -g set-clipboard on
set -g escape-time 0
set -g history-limit 1000
set -g status off
CONF
unset TMUX

tm() { tmux -L "$TMUX_SOCK" -f "$WORK/tmux.conf" "$@"; }

cleanup() {
    tm kill-server >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

fail() {
    echo "FAIL: $*"
    if tm has-session -t main 2>/dev/null; then
        echo "---- pane ----"
        tm capture-pane -p -t main 2>/dev/null
        echo "--------------"
    fi
    exit 1
}

# start_editor ARGS...: runs bd3ed ARGS in a fresh 80x24 session "main" (killing an earlier
# one), with a private HOME, XDG_CONFIG_HOME, XDG_STATE_HOME and XDG_RUNTIME_DIR; exit status to
# $WORK/rc. Arguments must not contain single quotes.
start_editor() {
    tm kill-session -t main >/dev/null 2>&1
    rm -f "$WORK/rc"
    cmd="cd '$WORK' && HOME='$WORK/home' XDG_CONFIG_HOME='$WORK/config' XDG_STATE_HOME='$WORK/state' XDG_RUNTIME_DIR='$WORK/runtime' '$BIN'"
    for a in "$@"; do cmd="$cmd '$a'"; done
    cmd="$cmd; echo \$? > '$WORK/rc'"
    tm new-session -d -s main -x 80 -y 24 "sh -c \"$cmd\"" || fail "tmux new-session"
}

# screen: the visible pane text.
screen() { tm capture-pane -p -t main; }

# wait_for TEXT [SECONDS]: waits until the pane shows TEXT (fixed string).
wait_for() {
    deadline=$(( $(date +%s) + ${2:-10} ))
    while :; do
        screen | grep -F -q -- "$1" && return 0
        [ "$(date +%s)" -ge "$deadline" ] && fail "timed out waiting for '$1'"
        sleep 0.05
    done
}

# wait_gone TEXT [SECONDS]: waits until the pane no longer shows TEXT.
wait_gone() {
    deadline=$(( $(date +%s) + ${2:-10} ))
    while :; do
        screen | grep -F -q -- "$1" || return 0
        [ "$(date +%s)" -ge "$deadline" ] && fail "timed out waiting for '$1' to go"
        sleep 0.05
    done
}

# wait_exit [SECONDS]: waits until the editor exits; prints its exit status.
wait_exit() {
    deadline=$(( $(date +%s) + ${1:-10} ))
    while [ ! -s "$WORK/rc" ]; do
        [ "$(date +%s)" -ge "$deadline" ] && fail "editor did not exit"
        sleep 0.05
    done
    cat "$WORK/rc"
}

# wait_file_nonempty PATH [SECONDS]
wait_file() {
    deadline=$(( $(date +%s) + ${2:-10} ))
    while [ ! -s "$1" ]; do
        [ "$(date +%s)" -ge "$deadline" ] && fail "timed out waiting for file $1"
        sleep 0.05
    done
}

# keys KEY...: tmux key names (C-s, M-r, Escape, Enter, S-Left ...).
keys() { tm send-keys -t main "$@"; }
# type_text TEXT: literal text.
type_text() { tm send-keys -t main -l -- "$1"; }

# editor_pid: pid of the bd3ed process in the pane.
editor_pid() {
    shpid=$(tm display-message -p -t main '#{pane_pid}')
    pgrep -P "$shpid" -x bd3ed 2>/dev/null | head -n 1
}
