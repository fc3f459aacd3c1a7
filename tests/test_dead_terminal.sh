#!/bin/sh
# test_dead_terminal.sh: when its terminal goes away without a SIGHUP (the pty's other end
# closes: a terminal emulator, ssh connection or tmux server gone), bd3ed writes its recovery
# files and exits instead of polling the dead terminal for good.
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
BIN=$(pwd)/$BUILD/bd3ed
[ -x "$BIN" ] || { echo "no $BIN (run make first)"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bd3ed-deadterm.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home" "$WORK/config"
"$PYTHON" - "$BIN" "$WORK" <<'PY' || exit 1
import os, sys, subprocess, time, select
binp, work = sys.argv[1], sys.argv[2]
m, s = os.openpty()   # not the editor's controlling terminal: closing it sends no SIGHUP
env = dict(os.environ, TERM='xterm', HOME=work + '/home', XDG_STATE_HOME=work + '/state',
           XDG_CONFIG_HOME=work + '/config')
p = subprocess.Popen([binp, 'doc.txt'], stdin=s, stdout=s, stderr=subprocess.PIPE, cwd=work,
                     env=env)
os.close(s)
def drain_until(want, limit):
    seen, end = b'', time.time() + limit
    while time.time() < end and want not in seen:
        r, _, _ = select.select([m], [], [], 0.05)
        if r:
            try: seen += os.read(m, 65536)
            except OSError: break
    return want in seen
if not drain_until(b'doc.txt', 30): print('FAIL: the editor did not start'); sys.exit(1)
os.write(m, b'typed before the terminal went away')
if not drain_until(b'went away', 30): print('FAIL: typed text not shown'); sys.exit(1)
os.close(m)
try:
    p.wait(timeout=60)   # a bound for a hang, not a timing: the exit comes at once
except subprocess.TimeoutExpired:
    p.kill()
    print('FAIL: the editor still runs after its terminal closed')
    sys.exit(1)
err = p.stderr.read().decode(errors='replace')
if p.returncode == 0: print('FAIL: exit status 0 after losing the terminal'); sys.exit(1)
if 'terminal went away' not in err: print('FAIL: no message: %r' % err); sys.exit(1)
PY
grep -r -q -F "typed before the terminal went away" "$WORK/state" ||
    { echo "FAIL: no recovery file with the typed text"; exit 1; }
echo "dead terminal: recovery written, editor exited"
