#!/bin/sh
# test_tmux_suspend.sh: M-z under a shell with job control stops the real bd3ed and fg brings it
# back; under one without (a script's sh, where the stop signal is dropped) the editor says it
# was not suspended instead of doing nothing.
. tests/tmux/lib.sh

printf 'some text\n' > "$WORK/a.txt"
start_editor a.txt # run by a non-interactive sh: no job control
wait_for " a.txt"
keys M-z
wait_for "Not suspended"
type_text "x"
wait_for "xsome text"
keys C-q
wait_for "before quitting?"
keys n
expect_exit 0

# an interactive sh has job control: the editor stops, the shell's prompt comes, fg resumes
printf 'cd %s && export HOME=%s XDG_STATE_HOME=%s PS1="jc> " ENV= && exec sh -i\n' \
    "'$WORK'" "'$WORK/home'" "'$WORK/state'" > "$WORK/jc.sh"
tm kill-session -t main >/dev/null 2>&1
tm new-session -d -s main -x 80 -y 24 "sh '$WORK/jc.sh'" || fail "tmux new-session"
wait_for "jc>"
type_text "'$BIN' a.txt"
keys Enter
wait_for " a.txt"
keys M-z
wait_for "Stopped"
type_text "fg"
keys Enter
wait_for "1:1" # the editor's status line (" a.txt" is also in the shell's command line)
screen | grep -q "Not suspended" && fail "said it was not suspended under job control"
keys C-q
deadline=$(( $(date +%s) + 30 ))
while [ -n "$(editor_pid)" ]; do
    [ "$(date +%s)" -ge "$deadline" ] && fail "editor did not exit after fg and C-q"
    sleep 0.05
done
echo "M-z suspends under job control and says so where there is none"
