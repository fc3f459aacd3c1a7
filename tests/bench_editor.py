# bench_editor.py: start-up figures of bd3ed (not a test; run by hand):
#   /usr/bin/python3 tests/bench_editor.py [BIN] FILE [RUNS]
# Runs BIN FILE in an 80x24 pseudo-terminal under /usr/bin/time -v, measures the time from the
# start to the first drawn status line (the first frame), then types C-q (quit; nothing is
# modified) and reports the peak resident memory of the editor.
import os, pty, re, select, struct, sys, termios, fcntl, time

args = sys.argv[1:]
binary = args.pop(0) if len(args) > 1 and os.access(args[0], os.X_OK) and not args[0].endswith(".txt") else "build/bd3ed"
path = args[0]
runs = int(args[1]) if len(args) > 1 else 5
binary = os.path.abspath(binary)
for _ in range(runs):
    timing = "/tmp/bench_editor.time"
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.environ["TERM"] = "xterm-256color"
        os.environ["XDG_STATE_HOME"] = "/tmp/bench_editor_state"
        os.execv("/usr/bin/time", ["/usr/bin/time", "-v", "-o", timing, binary, path])
    buf, first = b"", None
    while True:
        ready, _, _ = select.select([fd], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        buf += data
        if first is None and re.search(rb"\d+:\d+", buf):
            first = time.perf_counter()
            os.write(fd, b"\x11")
    os.waitpid(pid, 0)
    end = time.perf_counter()
    rss = next((l.split(":")[1].strip() for l in open(timing) if "Maximum resident" in l), "?")
    ms = "none" if first is None else "%.1f ms" % (1000 * (first - t0))
    print("%s: first frame %s, quit done %.1f ms, peak RSS %s KB" % (os.path.basename(path), ms, 1000 * (end - t0), rss))
