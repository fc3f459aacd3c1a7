/* term.c: ncursesw front end (see term.h): input decoding, frame drawing, main loop.
 * The only editor file that includes curses. Text reaches the terminal only as view glyphs and
 * sanitised strings: never raw file bytes. */
#include "term.h"
#include "utf8.h"

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#define TERM_KEY_PASTE_BEGIN (KEY_MAX + 101) /* ESC [ 200 ~ */
#define TERM_KEY_PASTE_END   (KEY_MAX + 102) /* ESC [ 201 ~ */
#define TERM_CLIPBOARD_MAX   (1u << 20)      /* bytes sent through OSC 52 at most */
#define TERM_TICK_MS         1000            /* longest wait between two ticks */
#define TERM_IDLE_READY_MAX                                                                                  \
    64 /* rounds of ready input without a key that                                                           \
          mean end of file */

/* Front-end state for one run. */
typedef struct term_state {
    FILE *out;                  /* terminal output */
    attr_t attr[THEME_N_SLOTS]; /* curses attributes per theme slot (pair included) */
    view_row row;               /* layout of the row being drawn */
    int row_width;              /* width row was allocated for */
    uint64_t msg_keyed;         /* editor_message_serial when the last key came (shown before it) */
} term_state;

const char *term_status_str(term_status s)
{
    switch (s) {
    case TERM_OK: return "success";
    case TERM_E_INIT: return "cannot set up the terminal";
    case TERM_E_GONE: return "the terminal went away; unsaved changes are in the recovery files";
    }
    return "unknown status";
}

static double term_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void term_modes(term_state *ts, bool on)
{
    /* bracketed paste and button-event mouse tracking (drags) */
    fputs(on ? "\033[?2004h\033[?1002h" : "\033[?1002l\033[?2004l", ts->out);
    fflush(ts->out);
}

static void term_colors(term_state *ts, const theme *th)
{
    theme_depth depth = THEME_DEPTH_NONE;
    if (has_colors() && start_color() == OK) {
        use_default_colors();
        depth = theme_depth_from_colors(COLORS);
    }
    for (int s = 0; s < THEME_N_SLOTS; s++) {
        theme_resolved r = theme_style_resolve(th, (theme_slot)s, depth);
        attr_t a = A_NORMAL;
        if (r.attr & THEME_ATTR_BOLD) a |= A_BOLD;
        if (r.attr & THEME_ATTR_UNDERLINE) a |= A_UNDERLINE;
        if (r.attr & THEME_ATTR_DIM) a |= A_DIM;
        if (r.attr & THEME_ATTR_REVERSE) a |= A_REVERSE;
        if (r.attr & THEME_ATTR_ITALIC) a |= A_ITALIC;
        if (depth != THEME_DEPTH_NONE && (r.fg >= 0 || r.bg >= 0)) {
            if (init_extended_pair(s + 1, r.fg, r.bg) == OK) a |= COLOR_PAIR(s + 1);
        }
        ts->attr[s] = a;
    }
}

/* Writes s at (y, x), at most maxcols columns, with control bytes shown as '?'. */
static void term_put(int y, int x, const char *s, int maxcols)
{
    if (maxcols <= 0) return;
    move(y, x);
    mbstate_t st;
    memset(&st, 0, sizeof st);
    int used = 0;
    size_t n = strlen(s);
    while (n > 0) {
        wchar_t wc;
        size_t l = mbrtowc(&wc, s, n, &st);
        if (l == (size_t)-1 || l == (size_t)-2 || l == 0) {
            wc = L'?';
            l = 1;
            memset(&st, 0, sizeof st);
        }
        if (wc < 0x20 || wc == 0x7f || (wc >= 0x80 && wc < 0xa0)) wc = L'?';
        int w = wcwidth(wc);
        if (w < 0) {
            wc = L'?';
            w = 1;
        }
        if (used + w > maxcols) break;
        addnwstr(&wc, 1);
        used += w;
        s += l;
        n -= l;
    }
}

/* Draws a cell glyph: its first character and the zero-width marks combined with it (the
 * terminal's idea of longer sequences, such as ZWJ emoji, varies; the layout's does not). */
static void term_put_glyph(int y, int x, const char *g)
{
    wchar_t w[16];
    int n = 0;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    size_t len = strlen(g);
    while (len > 0 && n < 15) {
        wchar_t wc;
        size_t l = mbrtowc(&wc, g, len, &st);
        if (l == (size_t)-1 || l == (size_t)-2 || l == 0) break;
        if (wc < 0x20 || wc == 0x7f || (wc >= 0x80 && wc < 0xa0)) break;
        if (n > 0 && (wc == 0x200d || wcwidth(wc) != 0)) break;
        w[n++] = wc;
        g += l;
        len -= l;
    }
    if (n == 0) {
        w[0] = L'?';
        n = 1;
    }
    w[n] = 0;
    mvaddnwstr(y, x, w, n);
}

static void term_draw(editor *ed, term_state *ts)
{
    erase();
    buffer *b = editor_buffer(ed);
    int rows = editor_text_rows(ed), cols = editor_cols(ed);
    int cy = 0, cx = 0;
    /* The layout has at least one text row, the status line and the message line. A terminal
     * with fewer rows loses the status line first; on one row a prompt or message takes the
     * text's place. Nothing may go below the screen: curses refuses the move and the text lands
     * wherever its cursor last was. */
    bool show_status = rows + 2 <= LINES;
    int msg_y = rows + 1 < LINES ? rows + 1 : LINES - 1;
    void *style_ctx;
    editor_style_fn style_fn = editor_style_hook(ed, &style_ctx);
    if (b) {
        editor_scroll(ed);
        view_opts o = editor_view_opts(ed);
        int gutter = editor_gutter(ed);
        if (ts->row_width != o.width) {
            view_row_release(&ts->row);
            if (!view_row_init(&ts->row, o.width)) return;
            ts->row_width = o.width;
        }
        view_row *row = &ts->row;
        size_t s = 0, e = 0, size = text_size(buffer_text(b));
        bool sel = buffer_selection(b, &s, &e);
        size_t line = buffer_line_of(b, buffer_top(b)), p = buffer_top(b);
        /* matches of the search on the screen: the screen shows at most rows * width bytes
         * of text plus line ends, so look that far (bounded, whatever the file size) */
        enum { TERM_MAX_MATCHES = 256 };
        size_t ms[TERM_MAX_MATCHES], me[TERM_MAX_MATCHES];
        int n_match = 0, mi = 0;
        search *shown = editor_search_shown(ed);
        if (shown) {
            size_t hi = buffer_top(b) + (size_t)rows * (size_t)(o.width + 2) * 4;
            size_t from = buffer_top(b);
            search_match m;
            while (n_match < TERM_MAX_MATCHES && search_in(shown, buffer_text(b), from, hi, &m)) {
                ms[n_match] = m.start;
                me[n_match++] = m.end;
                from = m.end > m.start ? m.end : m.start + 1;
            }
        }
        for (int r = 0; r < rows; r++) {
            size_t next = view_row_layout(buffer_text(b), p, &o, row);
            if (gutter && (row->start == 0 || text_byte_at(buffer_text(b), row->start - 1) == '\n')) {
                char num[32];
                snprintf(num, sizeof num, "%*zu ", gutter - 1, line + 1);
                attrset(ts->attr[THEME_LINE_NUMBER]);
                term_put(r, 0, num, gutter);
            }
            for (int i = 0; i < row->n_cells; i++) {
                const view_cell *c = &row->cells[i];
                int x = gutter + c->col;
                if (c->width == 0 || x + c->width > cols) continue;
                int slot = THEME_NORMAL;
                if (c->kind == VIEW_CELL_CONTROL)
                    slot = THEME_CONTROL;
                else if (c->kind == VIEW_CELL_INVALID)
                    slot = THEME_INVALID;
                if (style_fn) {
                    uint8_t a = 0;
                    text_attr_get(buffer_text(b), c->pos, 1, &a);
                    int st = style_fn(a, c->pos, style_ctx);
                    if (st >= 0 && st < THEME_N_SLOTS) slot = st;
                }
                while (mi < n_match && me[mi] <= c->pos) mi++;
                if (mi < n_match && c->pos >= ms[mi] && c->pos < me[mi]) slot = THEME_SEARCH;
                if (sel && c->pos >= s && c->pos < e) slot = THEME_SELECTION;
                attrset(ts->attr[slot]);
                if (c->kind == VIEW_CELL_TEXT)
                    term_put_glyph(r, x, c->glyph);
                else
                    term_put(r, x, c->glyph, c->width);
            }
            if (sel && row->newline && row->content_end >= s && row->content_end < e &&
                gutter + (row->n_cells ? row->cells[row->n_cells - 1].col + row->cells[row->n_cells - 1].width
                                       : 0) <
                    cols) {
                /* a selected line end shows as one selected blank */
                attrset(ts->attr[THEME_SELECTION]);
                mvaddch(r, gutter + view_row_col(row, row->content_end), ' ');
            }
            if (view_row_has(row, buffer_cursor(b), size)) {
                cy = r;
                cx = gutter + view_row_col(row, buffer_cursor(b));
            }
            if (row->newline) line++;
            if (row->last) break;
            p = next;
        }
    }
    if (b && show_status) {
        /* status line */
        attrset(ts->attr[THEME_STATUS]);
        move(rows, 0);
        for (int i = 0; i < cols; i++) addch(' ');
        char left[256], right[256], pend[64];
        snprintf(left, sizeof left, " %s%s%s", buffer_name(b), text_modified(buffer_text(b)) ? " [+]" : "",
                 buffer_readonly(b)        ? " [read-only]"
                 : buffer_file_readonly(b) ? " [RO]"
                                           : "");
        const keymap *km = editor_keymap(ed);
        const keymap_state *ks = editor_key_state(ed);
        const char *model_status = editor_model_status(ed);
        editor_pending_describe(ed, pend, sizeof pend);
        const char *mode = km && keymap_n_modes(km) > 1 ? keymap_mode_name(km, ks->mode) : "";
        snprintf(right, sizeof right, "%s%s%s%s%s%s  %zu:%zu ", model_status, model_status[0] ? "  " : "",
                 pend, pend[0] ? " " : "", mode, buffer_linewise(b) ? " line" : "",
                 buffer_line_of(b, buffer_cursor(b)) + 1, buffer_col_of(b, buffer_cursor(b)) + 1);
        int rl = (int)strlen(right);
        term_put(rows, 0, left, cols - rl - 1 > 0 ? cols - rl - 1 : cols);
        if (rl < cols) term_put(rows, cols - rl, right, rl);
        if (editor_model_legend(ed) && cols - rl - 15 > (int)strlen(left)) {
            /* heatmap legend: the five confidence buckets, least confident first */
            int x = cols - rl - 15;
            attrset(ts->attr[THEME_LEGEND]);
            term_put(rows, x, "conf", 4);
            for (int i = 0; i < 5; i++) {
                char d[2] = {(char)('0' + i), 0};
                attrset(ts->attr[THEME_CONF0 + i]);
                term_put(rows, x + 5 + 2 * i, d, 1);
            }
        }
    }
    if (cx >= cols) cx = cols - 1;
    /* message line */
    bool msg_error;
    int n_waiting;
    const char *message = editor_message_text(ed, &msg_error, &n_waiting);
    if (msg_y < rows) {
        /* one row: a message covers the text until the next key */
        if (editor_message_serial(ed) == ts->msg_keyed) message = "";
        if (message[0] || editor_prompt_kind(ed) != PROMPT_NONE) {
            attrset(A_NORMAL);
            move(msg_y, 0);
            clrtoeol();
        }
    }
    if (editor_prompt_kind(ed) != PROMPT_NONE) {
        attrset(ts->attr[THEME_MESSAGE]);
        char line[EDITOR_INPUT_MAX + 200];
        snprintf(line, sizeof line, "%s%s", editor_prompt_label(ed), editor_prompt_input(ed));
        int lab = (int)strlen(line);
        /* keep the end of a long input visible */
        const char *show = line;
        if (lab > cols - 1) show = line + (lab - (cols - 1));
        while (utf8_is_cont((unsigned char)*show)) show++;
        term_put(msg_y, 0, show, cols - 1);
        int y, x;
        getyx(stdscr, y, x);
        cy = y;
        cx = x;
        /* completion candidates after the input, cut with "...}" where the row ends */
        const char *hint = editor_prompt_hint(ed);
        int room = cols - 1 - (x + 2);
        if (hint[0] && room > 5) {
            char cut[EDITOR_MESSAGE_MAX];
            snprintf(cut, sizeof cut, "%s", hint);
            if ((int)strlen(cut) > room) snprintf(cut + room - 4, sizeof cut - (size_t)(room - 4), "...}");
            term_put(y, x + 2, cut, room);
        }
    } else if (message[0]) {
        attrset(ts->attr[msg_error ? THEME_ERROR : THEME_MESSAGE]);
        if (n_waiting > 0) {
            /* more start-up messages wait (each key shows the next): say so first */
            char line[EDITOR_MESSAGE_MAX + 32];
            snprintf(line, sizeof line, "[+%d more] %s", n_waiting, message);
            term_put(msg_y, 0, line, cols - 1);
        } else {
            term_put(msg_y, 0, message, cols - 1);
        }
    }
    attrset(A_NORMAL);
    move(cy, cx);
    wnoutrefresh(stdscr);
    doupdate();
}

static void term_clipboard(const char *bytes, size_t len, void *ctx)
{
    term_state *ts = ctx;
    if (len > TERM_CLIPBOARD_MAX) return;
    size_t size = (len + 2) / 3 * 4 + 1;
    char *b64 = malloc(size);
    if (!b64) return;
    if (editor_base64(bytes, len, b64, size) || len == 0) {
        fprintf(ts->out, "\033]52;c;%s\a", b64);
        fflush(ts->out);
    }
    free(b64);
}

static key_code term_key_code(int code)
{
    switch (code) {
    case KEY_UP: return KEYC_UP;
    case KEY_DOWN: return KEYC_DOWN;
    case KEY_LEFT: return KEYC_LEFT;
    case KEY_RIGHT: return KEYC_RIGHT;
    case KEY_HOME: return KEYC_HOME;
    case KEY_END: return KEYC_END;
    case KEY_PPAGE: return KEYC_PAGEUP;
    case KEY_NPAGE: return KEYC_PAGEDOWN;
    case KEY_IC: return KEYC_INSERT;
    case KEY_DC: return KEYC_DELETE;
    case KEY_BACKSPACE: return KEYC_BACKSPACE;
    case KEY_ENTER: return KEYC_ENTER;
    case KEY_SLEFT: return KEYC_SHIFT | KEYC_LEFT;
    case KEY_SRIGHT: return KEYC_SHIFT | KEYC_RIGHT;
    case KEY_SR: return KEYC_SHIFT | KEYC_UP;
    case KEY_SF: return KEYC_SHIFT | KEYC_DOWN;
    case KEY_SHOME: return KEYC_SHIFT | KEYC_HOME;
    case KEY_SEND: return KEYC_SHIFT | KEYC_END;
    case KEY_SPREVIOUS: return KEYC_SHIFT | KEYC_PAGEUP;
    case KEY_SNEXT: return KEYC_SHIFT | KEYC_PAGEDOWN;
    case KEY_SDC: return KEYC_SHIFT | KEYC_DELETE;
    case KEY_SIC: return KEYC_SHIFT | KEYC_INSERT;
    case KEY_BTAB: return KEYC_SHIFT | KEYC_TAB;
    default: break;
    }
    if (code >= KEY_F(1) && code <= KEY_F(12)) return KEYC_F1 + (key_code)(code - KEY_F(1));
    if (code >= KEY_F(13) && code <= KEY_F(24)) return KEYC_SHIFT | (KEYC_F1 + (key_code)(code - KEY_F(13)));
    if (code >= KEY_F(25) && code <= KEY_F(36)) return KEYC_CTRL | (KEYC_F1 + (key_code)(code - KEY_F(25)));
    const char *name = keyname(code);
    return name ? key_from_terminfo(name) : KEYC_NONE;
}

/* Key of a character read by wget_wch (a code point, or a byte value for ASCII controls). */
static key_code term_key_char(wint_t ch)
{
    if (ch < 0x80) return key_from_byte((unsigned char)ch);
    if (ch > 0x10ffff) return KEYC_NONE;
    return (key_code)ch;
}

/* Collects a bracketed paste up to its end marker and hands it to the editor. */
static void term_paste(editor *ed)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) return;
    bool prev_cr = false; /* the last character was a CR (CRLF pastes as one newline) */
    wtimeout(stdscr, 200);
    for (;;) {
        wint_t ch;
        int rc = wget_wch(stdscr, &ch);
        if (rc == ERR) break;
        if (rc == KEY_CODE_YES) {
            if (ch == TERM_KEY_PASTE_END) break;
            if (ch != KEY_ENTER) continue;
            ch = '\n';
        }
        if (ch == '\n' && prev_cr) {
            prev_cr = false;
            continue;
        }
        prev_cr = ch == '\r';
        if (ch == '\r') ch = '\n';
        if (n + 4 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
        mbstate_t st;
        memset(&st, 0, sizeof st);
        size_t l = wcrtomb(buf + n, (wchar_t)ch, &st);
        if (l != (size_t)-1) n += l;
    }
    nodelay(stdscr, TRUE);
    editor_paste(ed, buf, n);
    free(buf);
}

static void term_mouse(editor *ed)
{
    MEVENT ev;
    if (getmouse(&ev) != OK) return;
    int rows = editor_text_rows(ed);
    if (ev.bstate & BUTTON4_PRESSED)
        editor_mouse(ed, EDITOR_MOUSE_WHEEL_UP, ev.y, ev.x);
    else if (ev.bstate & BUTTON5_PRESSED)
        editor_mouse(ed, EDITOR_MOUSE_WHEEL_DOWN, ev.y, ev.x);
    else if (ev.bstate & BUTTON1_PRESSED) {
        if (ev.y < rows) editor_mouse(ed, EDITOR_MOUSE_PRESS, ev.y, ev.x);
    } else if (ev.bstate & BUTTON1_RELEASED)
        editor_mouse(ed, EDITOR_MOUSE_RELEASE, ev.y, ev.x);
    else if (ev.bstate & REPORT_MOUSE_POSITION)
        editor_mouse(ed, EDITOR_MOUSE_DRAG, ev.y < rows ? ev.y : rows - 1, ev.x);
}

static atomic_int term_continued; /* a SIGCONT came during term_suspend (set by any thread) */
enum { TERM_CONT_WAIT_MS = 500 }; /* longest wait for it after the stop, ms */

static void term_on_continue(int sig)
{
    (void)sig;
    atomic_store(&term_continued, 1);
}

/* Stops the editor until the shell continues it. Where the shell has no job control (the
 * process group is orphaned) the stop signal is dropped: no SIGCONT comes, and the editor
 * says it was not suspended. */
static void term_suspend(editor *ed, term_state *ts)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = term_on_continue;
    sigemptyset(&sa.sa_mask);
    atomic_store(&term_continued, 0);
    bool watch = sigaction(SIGCONT, &sa, &old) == 0;
    term_modes(ts, false);
    def_prog_mode();
    endwin();
    signal(SIGTSTP, SIG_DFL);
    kill(getpid(), SIGTSTP);
    /* resumed, or never stopped */
    reset_prog_mode();
    term_modes(ts, true);
    /* The SIGCONT that resumed the process may be taken by another thread, whose handler can
     * run a moment after this one goes on: wait for it, briefly (keys typed meanwhile wait in
     * the terminal's raw mode). */
    const struct timespec tick = {0, 1000000};
    for (int i = 0; watch && !atomic_load(&term_continued) && i < TERM_CONT_WAIT_MS; i++)
        nanosleep(&tick, NULL);
    if (watch) sigaction(SIGCONT, &old, NULL);
    clearok(curscr, TRUE);
    editor_resize(ed, LINES, COLS);
    if (watch && !atomic_load(&term_continued))
        editor_message(ed, EDITOR_MSG_ERROR,
                       "Not suspended: the shell that started bd3ed has no job control");
}

/* True when key (an Alt key) means something now: a binding in the current mode, a prompt
 * (which reads keys itself), or a pending key sequence. */
static bool term_alt_bound(editor *ed, key_code key) { return editor_key_bound(ed, key); }

/* Reads every pending key and event; false when nothing was read. */
static bool term_input(editor *ed, term_state *ts)
{
    bool any = false;
    for (;;) {
        wint_t ch;
        int rc = wget_wch(stdscr, &ch);
        if (rc == ERR) break;
        any = true;
        ts->msg_keyed = editor_message_serial(ed);
        if (rc == KEY_CODE_YES) {
            if (ch == KEY_RESIZE) {
                editor_resize(ed, LINES, COLS);
                clearok(curscr, TRUE); /* the terminal may have moved or kept rows: draw them all */
                continue;
            }
            if (ch == KEY_MOUSE) {
                term_mouse(ed);
                continue;
            }
            if (ch == TERM_KEY_PASTE_BEGIN) {
                term_paste(ed);
                continue;
            }
            if (ch == TERM_KEY_PASTE_END) continue;
            key_code k = term_key_code((int)ch);
            if (k != KEYC_NONE) editor_key(ed, k);
            continue;
        }
        if (ch == 27) {
            /* Esc, or Alt with the key that follows at once */
            wint_t c2;
            int rc2 = wget_wch(stdscr, &c2);
            key_code k = KEYC_NONE;
            if (rc2 == OK)
                k = term_key_char(c2);
            else if (rc2 == KEY_CODE_YES)
                k = term_key_code((int)c2);
            if (k == KEYC_NONE) {
                editor_key(ed, KEYC_ESC);
                continue;
            }
            if (!term_alt_bound(ed, key_with_alt(k))) {
                /* Esc typed quickly before a key (vi): two keys, unless Alt+key is bound */
                editor_key(ed, KEYC_ESC);
                editor_key(ed, k);
                continue;
            }
            editor_key(ed, key_with_alt(k));
            continue;
        }
        key_code k = term_key_char(ch);
        if (k != KEYC_NONE) editor_key(ed, k);
    }
    (void)ts;
    return any;
}

/* The terminal is gone when its input hangs up or fails (POLLHUP/POLLERR/POLLNVAL, as when
 * the terminal emulator, ssh connection or tmux server closes), or when it keeps being ready
 * without giving a key (end of file: ncurses reads nothing). Polling on would spin a core. */
static bool term_input_gone(int fd, int idle_ready)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL))) return true;
    return idle_ready >= TERM_IDLE_READY_MAX;
}

term_status term_run(editor *ed, loop *lp, const term_config *tc)
{
    SCREEN *scr = newterm(NULL, tc->out, tc->in);
    if (!scr) return TERM_E_INIT;
    set_term(scr);
    term_state ts;
    memset(&ts, 0, sizeof ts);
    ts.out = tc->out;
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    meta(stdscr, TRUE);
    term_colors(&ts, tc->theme);
    mousemask(BUTTON1_PRESSED | BUTTON1_RELEASED | BUTTON4_PRESSED | BUTTON5_PRESSED | REPORT_MOUSE_POSITION,
              NULL);
    mouseinterval(0);
    define_key("\033[200~", TERM_KEY_PASTE_BEGIN);
    define_key("\033[201~", TERM_KEY_PASTE_END);
    term_modes(&ts, true);
    editor_set_clipboard(ed, term_clipboard, &ts);
    editor_set_loop(ed, lp);
    editor_resize(ed, LINES, COLS);
    int in_fd = fileno(tc->in);
    term_status result = TERM_OK;
    int idle_ready = 0; /* rounds in a row where the input was ready but gave no key */
    while (!editor_quitting(ed)) {
        if (*tc->stop) {
            editor_recovery_write_all(ed);
            break;
        }
        if (editor_take_suspend(ed)) term_suspend(ed, &ts);
        if (editor_take_redraw(ed)) clearok(curscr, TRUE);
        if (tc->on_frame) tc->on_frame(ed, tc->ctx);
        term_draw(ed, &ts);
        bool ready = loop_wait(lp, in_fd, TERM_TICK_MS);
        bool got = term_input(ed, &ts);
        editor_tick(ed, term_now());
        idle_ready = ready && !got ? idle_ready + 1 : 0;
        if (idle_ready > 0 && term_input_gone(in_fd, idle_ready)) {
            editor_recovery_write_all(ed);
            result = TERM_E_GONE;
            break;
        }
    }
    editor_set_clipboard(ed, NULL, NULL);
    term_modes(&ts, false);
    endwin();
    delscreen(scr);
    view_row_release(&ts.row);
    return result;
}
