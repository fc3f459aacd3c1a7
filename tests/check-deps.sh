#!/bin/sh
# Layer rules of the sources, checked with grep (`make check-deps`, run by `make check`):
# curses only in editor/term.c; nothing of editor/ (nor curses) in model/; model/bd3.h included
# directly only by the editor's model files (editor/model-*); the editor's internal headers
# (editor-core.h, model-session-core.h) only by the files of their own part.
# Usage: check-deps.sh [ROOT] (default: the repository). Exits 1 when a rule is broken.
cd "${1:-$(dirname "$0")/..}" || exit 1
fail=0
bad() { printf 'check-deps: %s\n' "$1"; fail=1; }
inc='^[[:space:]]*#[[:space:]]*include[[:space:]]*'

EDITOR=$(ls editor/*.c editor/*.h)
MODEL=$(find model -name '*.c' -o -name '*.h' | sort)

# 1. curses (and its terminfo header) only in editor/term.c
for f in $(grep -lE "$inc<(curses|ncurses|ncursesw/[a-z]+|ncurses/[a-z]+|term)\.h>" $EDITOR $MODEL); do
    [ "$f" = editor/term.c ] || bad "$f includes curses (only editor/term.c may)"
done

# 2. model/ includes no header of the editor
for h in $(cd editor && ls *.h); do
    [ -e "model/$h" ] && continue   # a header of the same name of its own
    for f in $(grep -lE "$inc\"([.][.]/)*(editor/)?$h\"" $MODEL); do
        bad "$f includes editor/$h (model/ must not depend on the editor)"
    done
done

# 3. model/bd3.h directly only in the editor's model files
for f in $(grep -lE "$inc\"([.][.]/)*(model/)?bd3\.h\"" $EDITOR); do
    case $f in editor/model-*) ;; *) bad "$f includes bd3.h (only editor/model-* may)" ;; esac
done

# 4. the internal headers only inside their part
for f in $(grep -lE "$inc\"editor-core\.h\"" $EDITOR); do
    case $f in editor/buffer.c|editor/command.c|editor/command-motion.c|editor/command-vi.c|editor/command-complete.c|editor/editor.c|editor/editor-*.[ch]) ;;
               *) bad "$f includes editor-core.h (outside the core: editor.h)" ;; esac
done
for f in $(grep -lE "$inc\"model-session-core\.h\"" $EDITOR); do
    # the session's files: model-session.c, model-live.c and one model-KIND.c per job kind; the
    # editor's side of the model (model-editor.c) and the session's tools (window, worker) stay out
    case $f in editor/model-editor.c|editor/model-window.[ch]|editor/model-worker.[ch])
                   bad "$f includes model-session-core.h (outside the session: model-session.h)" ;;
               editor/model-*.[ch]) ;;
               *) bad "$f includes model-session-core.h (outside the session: model-session.h)" ;; esac
done

[ $fail -eq 0 ] && echo "check-deps: layer rules hold"
exit $fail
