#!/bin/sh
# test_editor_options.sh: bd3ed accepts every config option on the command line as
# --NAME=VALUE and --NAME VALUE, booleans also as --NAME and --no-NAME; bad names and values
# stop it with status 2 before the screen opens; --help lists every option.
BIN=${BUILD:-build}/bd3ed
[ -x "$BIN" ] || { echo "no $BIN (run make first)"; exit 1; }
export HOME=$(mktemp -d) XDG_CONFIG_HOME= XDG_STATE_HOME=
trap 'rm -rf "$HOME"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Options are parsed in order, so --version after them exits 0 only when all were accepted.
for args in "--no-wrap" "--wrap" "--wrap=off" "--tab-width 4" "--tab-width=4" \
            "--line-numbers" "--no-line-numbers" "--line-numbers off" "--temperature 0.7" \
            "--sampler margin" "--theme mono" "--keymap=vi" "--model /nonexistent.gguf"; do
    # shellcheck disable=SC2086
    out=$("$BIN" $args --version 2>&1) || fail "'$args' refused: $out"
    case $out in "bd3ed "*) ;; *) fail "'$args --version' printed '$out'" ;; esac
done
for args in "--tab-width 99" "--tab-width" "--no-tab-width" "--no-theme" "--bogus" \
            "--wrap=maybe" "--sampler nope" "-x"; do
    # shellcheck disable=SC2086
    out=$("$BIN" $args --version 2>&1)
    rc=$?
    [ $rc -eq 2 ] || fail "'$args' gave status $rc ($out), expected 2"
    case $out in "bd3ed: "*) ;; *) fail "'$args': no message ($out)" ;; esac
done
# An argument quoted in a message is shown, not obeyed: its control characters (an OSC that
# sets the terminal title, a C1 CSI) never reach stderr raw.
esc=$(printf '\033') c1=$(printf '\302\233')
for arg in "--bogus${esc}]0;title$(printf '\007')x" "-${esc}[2J" "+1${esc}[2J" "--x${c1}2J"; do
    out=$("$BIN" "$arg" --version 2>&1)
    [ $? -eq 2 ] || fail "control characters in '$arg': not refused with status 2"
    case $out in *"$esc"*|*"$c1"*|*"$(printf '\007')"*) fail "the message passes control characters raw: $(printf '%s' "$out" | od -c | head -2)";; esac
    case $out in "bd3ed: "*"^["*|"bd3ed: "*"<9b>"*) ;; *) fail "the message does not show the control characters: $out";; esac
done
help=$("$BIN" --help) || fail "--help failed"
for opt in $(sed -n 's/^ *"\([a-z-]*\) = .*/\1/p' editor/config.c); do
    printf '%s\n' "$help" | grep -q -F -- "--$opt" || fail "--help does not list --$opt"
done
printf '%s\n' "$help" | grep -q -F -- "--no-NAME" || fail "--help does not show --no-NAME"
echo "command-line options accepted in every form"
