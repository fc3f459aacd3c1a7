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
set -s exit-empty off
CONF
unset TMUX

tm() { tmux -L "$TMUX_SOCK" -f "$WORK/tmux.conf" "$@"; }

cleanup() {
    tm kill-server >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

fail() {
    echo "FAIL: $*"
    if tm has-session -t main 2>/dev/null; then
        echo "---- pane ----"
        tm capture-pane -p -t main 2>/dev/null
        echo "--------------"
    fi
    exit 1
}

# start_editor ARGS...: runs bd3ed ARGS in $WORK in a fresh 80x24 session "main" (killing an
# earlier one), with a private HOME, XDG_CONFIG_HOME, XDG_STATE_HOME and XDG_RUNTIME_DIR; its
# exit status goes to $WORK/rc. Arguments must not contain single quotes. With EDITOR_TERM set,
# the editor runs with TERM=$EDITOR_TERM (e.g. an 8-colour or a colourless terminal type).
start_editor() {
    tm kill-session -t main >/dev/null 2>&1
    rm -f "$WORK/rc"
    {
        printf 'cd %s || exit 1\n' "'$WORK'"
        printf 'export HOME=%s XDG_CONFIG_HOME=%s XDG_STATE_HOME=%s XDG_RUNTIME_DIR=%s\n' \
            "'$WORK/home'" "'$WORK/config'" "'$WORK/state'" "'$WORK/runtime'"
        [ -n "${EDITOR_TERM:-}" ] && printf 'export TERM=%s\n' "'$EDITOR_TERM'"
        printf "'%s'" "$BIN"
        for a in "$@"; do printf " '%s'" "$a"; done
        printf '\necho $? > %s\n' "'$WORK/rc'"
    } > "$WORK/run.sh"
    tm new-session -d -s main -x 80 -y 24 "sh '$WORK/run.sh'" || fail "tmux new-session"
}

# screen: the visible pane text.
screen() { tm capture-pane -p -t main; }

# wait_for TEXT [SECONDS]: waits until the pane shows TEXT (fixed string).
wait_for() {
    deadline=$(( $(date +%s) + ${2:-30} ))
    while :; do
        screen | grep -F -q -- "$1" && return 0
        [ "$(date +%s)" -ge "$deadline" ] && fail "timed out waiting for '$1'"
        sleep 0.05
    done
}

# wait_gone TEXT [SECONDS]: waits until the pane no longer shows TEXT.
wait_gone() {
    deadline=$(( $(date +%s) + ${2:-30} ))
    while :; do
        screen | grep -F -q -- "$1" || return 0
        [ "$(date +%s)" -ge "$deadline" ] && fail "timed out waiting for '$1' to go"
        sleep 0.05
    done
}

# wait_exit [SECONDS]: waits until the editor exits; prints its exit status. Call it outside
# a command substitution (its failure must end the test): wait_exit; rc=$(cat "$WORK/rc").
wait_exit() {
    deadline=$(( $(date +%s) + ${1:-30} ))
    while [ ! -s "$WORK/rc" ]; do
        [ "$(date +%s)" -ge "$deadline" ] && fail "editor did not exit"
        sleep 0.05
    done
}

# expect_exit STATUS: waits for the editor to exit and checks its exit status.
expect_exit() {
    wait_exit
    [ "$(cat "$WORK/rc")" = "$1" ] || fail "exit status $(cat "$WORK/rc"), want $1"
}

# wait_grep TEXT DIR [SECONDS]: waits until a file under DIR contains TEXT (temporary files of
# an atomic write, named ".*", do not count: they may never be renamed into place).
wait_grep() {
    deadline=$(( $(date +%s) + ${3:-30} ))
    until grep -r -q -F --exclude=".*" -- "$1" "$2" 2>/dev/null; do
        [ "$(date +%s)" -ge "$deadline" ] && fail "timed out waiting for '$1' in a file under $2"
        sleep 0.1
    done
}

# keys KEY...: tmux key names (C-s, M-r, Escape, Enter, S-Left ...).
keys() { tm send-keys -t main "$@"; }
# type_text TEXT: literal text.
type_text() { tm send-keys -t main -l -- "$1"; }

# editor_pid: pid of the bd3ed process in the pane (a child of the pane's shell).
editor_pid() {
    pgrep -P "$(tm display-message -p -t main '#{pane_pid}')" -x bd3ed 2>/dev/null | head -n 1
}
