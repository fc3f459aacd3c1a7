/* term.h: the terminal front end: ncursesw set-up, decoding of keys, mouse and bracketed paste
 * into editor input, drawing of a whole frame per update (one doupdate), OSC 52, suspend and
 * resize, and the main loop. The only editor module that includes curses (in term.c). */
#ifndef BD3ED_TERM_H
#define BD3ED_TERM_H

#include <signal.h>
#include <stdio.h>
#include "editor.h"
#include "loop.h"
#include "theme.h"

typedef enum term_status {
    TERM_OK = 0,
    TERM_E_INIT, /* the terminal could not be set up (not a terminal, unknown TERM) */
    TERM_E_GONE, /* the terminal went away (hang-up, end of input, read error) */
} term_status;

const char *term_status_str(term_status s);

typedef struct term_config {
    FILE *in;                                /* terminal input (stdin, or /dev/tty when stdin was a file) */
    FILE *out;                               /* terminal output */
    const theme *theme;                      /* colours */
    volatile sig_atomic_t *stop;             /* set by SIGHUP/SIGTERM: write recovery files and end */
    void (*on_frame)(editor *ed, void *ctx); /* called before each frame is drawn, or NULL */
    void *ctx;                               /* its context */
} term_config;

/* Runs the editor on the terminal until it quits (or *stop is set). The first frame is drawn
 * before any input is read. */
term_status term_run(editor *ed, loop *lp, const term_config *tc);

#endif
