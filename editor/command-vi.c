/* command-vi.c: the vi operators and their table: x and X, and d, y and c over words (w W b B
 * e E) with counts, by vim's rules (d,w not joining lines, whole lines, c,w as c,e); the
 * commands that take the next key as a character: f t F T (with ; and , and as operators'
 * spans) and r; %, J, ~ and s.
 * Depends on editor-core.h, motion.h, view.h, utf8.h and libutf8proc; no curses, no model. */
#include "command.h"
#include "editor-core.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "motion.h"
#include "utf8.h"
#include "view.h"

static buffer *cur(editor *ed) { return editor_buffer(ed); }

/* True when only blanks (space, tab) lie in [from, to). */
static bool only_blanks(const text *t, size_t from, size_t to)
{
    for (; from < to; from++) {
        int c = text_byte_at(t, from);
        if (c != ' ' && c != '\t') return false;
    }
    return true;
}

/* vim's rule for a delete by characters over more than one line: when only blanks lie before
 * its start on the first line and after its end on the last one, it takes the whole lines
 * (with the last one's line break; a last line without one stays by characters). */
static void lines_if_whole(const text *t, size_t *s, size_t *e)
{
    size_t ls = view_line_start(t, *s), le = view_line_end(t, *e);
    if (ls == view_line_start(t, *e) || le >= text_size(t)) return;
    if (!only_blanks(t, ls, *s) || !only_blanks(t, *e, le)) return;
    *s = ls;
    *e = view_next_cluster(t, le); /* past the line break (CRLF as one) */
}

/* What a vi operator does with its span: cut it, copy it, or cut it and enter insert mode. */
typedef enum vi_op { VI_CUT, VI_COPY, VI_CHANGE } vi_op;

/* A vi operator over the selection, or else over the span between the cursor and where reach
 * takes it with count steps (one without a count) forward or back; with vim_lines a span over
 * whole lines takes them as lines (lines_if_whole). The span goes into the register; an empty
 * one changes nothing there (a change still enters insert mode). A copy leaves the cursor at
 * the span's start when that is before it (vim's yb). */
typedef size_t (*reach_fn)(const text *t, size_t from, int n, bool before);
static void op_span(editor *ed, size_t s, size_t e, vi_op op);
static void op_reach(editor *ed, int count, bool before, reach_fn reach, bool vim_lines, vi_op op)
{
    buffer *b = cur(ed);
    if (!b || (op != VI_COPY && !command_editable(ed))) return;
    size_t s, e;
    if (!buffer_selection(b, &s, &e)) {
        size_t p = reach(b->text, b->cursor, count > 0 ? count : 1, before);
        s = before ? p : b->cursor;
        e = before ? b->cursor : p;
        if (vim_lines && e > s) lines_if_whole(b->text, &s, &e);
    }
    op_span(ed, s, e, op);
}

/* The operator over [s, e) (see op_reach). */
static void op_span(editor *ed, size_t s, size_t e, vi_op op)
{
    buffer *b = cur(ed);
    if (e > s) editor_copy_range(ed, s, e);
    if (op == VI_COPY) {
        if (s < b->cursor) b->cursor = s;
        b->anchor = TEXT_POS_NONE;
        if (e > s) editor_message(ed, EDITOR_MSG_INFO, "Copied %zu bytes", e - s);
        return;
    }
    if (e > s) command_delete_range(ed, s, e);
    if (op == VI_CHANGE) editor_set_mode(ed, "insert");
}

/* vi x and X: n characters after / before p, never over a line break (on an empty line, or X
 * at the line start, none: nothing is cut and the register stays). */
static size_t chars_reach(const text *t, size_t p, int n, bool before)
{
    size_t stop = before ? view_line_start(t, p) : view_line_end(t, p);
    for (int i = 0; i < n && p != stop; i++) p = before ? view_prev_cluster(t, p) : view_next_cluster(t, p);
    return p;
}

/* vi d,w: n words (an empty line is one, as in vim) and the blanks after each, up to the next
 * word; when the last of them ends its line, only to the end of that line (the next line is not
 * joined: vim). vi d,b: n words before. big: WORDs (d,W and d,B). */
static size_t words_reach_big(const text *t, size_t p, int n, bool before, bool big)
{
    for (int i = 0; i < n; i++) {
        size_t q;
        if (big)
            q = before ? motion_vi_bigword_prev(t, p) : motion_vi_bigword_next(t, p);
        else
            q = before ? motion_vi_word_prev(t, p) : motion_vi_word_next(t, p);
        size_t line_end = view_line_end(t, p);
        if (!before && i == n - 1 && p < line_end && q > line_end) q = line_end;
        if (q == p) break;
        p = q;
    }
    return p;
}
static size_t words_reach(const text *t, size_t p, int n, bool before)
{
    return words_reach_big(t, p, n, before, false);
}
static size_t bigwords_reach(const text *t, size_t p, int n, bool before)
{
    return words_reach_big(t, p, n, before, true);
}

/* vi d,e: through the character where n e motions take the cursor (inclusive, as e is; over
 * line breaks). With no word after, e stays and the span is the cursor's character (vim). */
static size_t ends_reach_big(const text *t, size_t p, int n, bool big)
{
    for (int i = 0; i < n; i++) {
        size_t q = big ? motion_bigword_last(t, p) : motion_word_last(t, p);
        if (q == p) break;
        p = q;
    }
    return view_next_cluster(t, p);
}
static size_t ends_reach(const text *t, size_t p, int n, bool before)
{
    (void)before;
    return ends_reach_big(t, p, n, false);
}
static size_t bigends_reach(const text *t, size_t p, int n, bool before)
{
    (void)before;
    return ends_reach_big(t, p, n, true);
}

/* vi c,w: vim's special case: on a word it changes only to the end of that word, as c,e does
 * but with the first step staying in the word the cursor is in (c,w on a word's last character
 * changes that character; n c,w then goes on to the ends of the next n - 1 words). On blanks it
 * is d,w's span, and on an empty line nothing (the line stays). big: c,W. */
static size_t change_words_reach_big(const text *t, size_t p, int n, bool big)
{
    int c = text_byte_at(t, p);
    if (c < 0 || c == '\n' || (c == '\r' && text_byte_at(t, p + 1) == '\n')) return p;
    if (c == ' ' || c == '\t') return words_reach_big(t, p, n, false, big);
    size_t end = big ? motion_bigword_end(t, p) : motion_word_end(t, p);
    if (n > 1) end = ends_reach_big(t, view_prev_cluster(t, end), n - 1, big);
    return end;
}
static size_t change_words_reach(const text *t, size_t p, int n, bool before)
{
    (void)before;
    return change_words_reach_big(t, p, n, false);
}
static size_t change_bigwords_reach(const text *t, size_t p, int n, bool before)
{
    (void)before;
    return change_words_reach_big(t, p, n, true);
}

/* A reach operator's arg: which reach (REACH_KIND bits), back from the cursor, vim's rule for
 * whole lines (lines_if_whole), and the vi_op (REACH_OP_SHIFT up). */
enum {
    REACH_CHARS = 0,    /* x, X: characters in the line */
    REACH_WORDS,        /* w, b */
    REACH_BIGWORDS,     /* W, B */
    REACH_ENDS,         /* e */
    REACH_BIGENDS,      /* E */
    REACH_CHANGE,       /* c,w */
    REACH_CHANGE_BIG,   /* c,W */
    REACH_KIND = 7,     /* the bits of the kind */
    REACH_BACK = 1 << 3,
    REACH_LINES = 1 << 4,
    REACH_OP_SHIFT = 5, /* the vi_op above them */
};

static const reach_fn reaches[] = {
    [REACH_CHARS] = chars_reach,          [REACH_WORDS] = words_reach,
    [REACH_BIGWORDS] = bigwords_reach,    [REACH_ENDS] = ends_reach,
    [REACH_BIGENDS] = bigends_reach,      [REACH_CHANGE] = change_words_reach,
    [REACH_CHANGE_BIG] = change_bigwords_reach,
};

/* The vi operators x, X and d, y, c with w, W, b, B, e and E (counts multiply the steps). */
static void cmd_reach(editor *ed, int count, int arg)
{
    op_reach(ed, count, arg & REACH_BACK, reaches[arg & REACH_KIND], arg & REACH_LINES,
             (vi_op)(arg >> REACH_OP_SHIFT));
}

/* ---- f, t, F, T, ; and , (with d, y, c), r: the next key is their character ---- */

/* A character command's arg: what it looks for (FIND_KIND bits), whether it extends the
 * selection or repeats the last search (; and , reversed), and the operator (FIND_OP_SHIFT up:
 * 0 none, else 1 + vi_op). */
enum { FIND_F = 1, FIND_T, FIND_BACK_F, FIND_BACK_T };
enum { FIND_KIND = 7, FIND_SELECT = 1 << 3, FIND_AGAIN = 1 << 4, FIND_REVERSE = 1 << 5, FIND_OP_SHIFT = 6 };

/* Waits for the next key as the character of the command of the table with this fn and arg. */
static void wait_char(editor *ed, command_fn fn, int arg, int count);

static void cmd_find_char(editor *ed, int count, int arg)
{
    buffer *b = cur(ed);
    if (!b) return;
    int kind = arg & FIND_KIND;
    uint32_t cp = ed->char_cp;
    bool again = arg & FIND_AGAIN;
    if (again) {
        if (!ed->find_kind) {
            editor_message(ed, EDITOR_MSG_INFO, "No character search to repeat");
            return;
        }
        kind = ed->find_kind;
        cp = ed->find_cp;
        if (arg & FIND_REVERSE) kind = kind == FIND_F ? FIND_BACK_F : kind == FIND_T ? FIND_BACK_T
                                      : kind == FIND_BACK_F ? FIND_F : FIND_T;
    } else if (!cp) {
        wait_char(ed, cmd_find_char, arg, count);
        return;
    } else {
        ed->find_kind = kind;
        ed->find_cp = cp;
    }
    bool back = kind == FIND_BACK_F || kind == FIND_BACK_T, till = kind == FIND_T || kind == FIND_BACK_T;
    size_t p = motion_find_char(b->text, b->cursor, cp, count, back, till, again);
    if (p == TEXT_POS_NONE) return; /* not in the line: vi stays, and an operator does nothing */
    int op = arg >> FIND_OP_SHIFT;
    if (!op) {
        command_move_to(ed, p, arg & FIND_SELECT);
        return;
    }
    if (op - 1 != VI_COPY && !command_editable(ed)) return;
    /* f and t take in the character they land on (inclusive), F and T stop before the cursor's */
    size_t s = back ? p : b->cursor, e = back ? b->cursor : view_next_cluster(b->text, p);
    op_span(ed, s, e, (vi_op)(op - 1));
}

/* Visual r: every character of [s, e) but the line breaks becomes cp; the cursor goes to s. */
static void replace_span(editor *ed, size_t s, size_t e, uint32_t cp)
{
    buffer *b = cur(ed);
    char u[UTF8_MAX];
    size_t len = utf8_encode(cp, u);
    b->anchor = TEXT_POS_NONE;
    for (size_t p = s; p < e;) {
        int c = text_byte_at(b->text, p);
        size_t q = view_next_cluster(b->text, p);
        if (c == '\n' || c == '\r') {
            p = q;
            continue;
        }
        command_delete_range(ed, p, q);
        if (!editor_replace_selection(ed, u, len)) return;
        e = e - (q - p) + len;
        p += len;
    }
    b->cursor = s;
}

/* vi r: the count characters from the cursor become the character typed (when the line has that
 * many; else nothing changes); the cursor ends on the last of them. */
static void cmd_replace_char(editor *ed, int count, int arg)
{
    if (!ed->char_cp) {
        wait_char(ed, cmd_replace_char, arg, count);
        return;
    }
    if (!command_editable(ed)) return;
    buffer *b = cur(ed);
    size_t s = b->cursor, e = s, le = view_line_end(b->text, s);
    if (buffer_selection(b, &s, &e)) {
        replace_span(ed, s, e, ed->char_cp);
        return;
    }
    int n = count > 0 ? count : 1;
    for (int i = 0; i < n; i++) {
        if (e >= le) return;
        e = view_next_cluster(b->text, e);
    }
    char u[UTF8_MAX];
    size_t len = utf8_encode(ed->char_cp, u);
    char *put = malloc((size_t)n * len);
    if (!put) {
        editor_message(ed, EDITOR_MSG_ERROR, "Out of memory");
        return;
    }
    for (int i = 0; i < n; i++) memcpy(put + (size_t)i * len, u, len);
    command_delete_range(ed, s, e);
    bool ok = editor_replace_selection(ed, put, (size_t)n * len);
    free(put);
    if (ok) b->cursor = s + (size_t)(n - 1) * len;
}

/* ---- d, y and c over lines and to line positions and paragraph ends ---- */

/* The motion of an operator over lines or to a place (a span command's arg, below the op). */
enum {
    SPAN_DOWN = 1,     /* j: this line and count more (linewise) */
    SPAN_UP,           /* k: this line and count before (linewise) */
    SPAN_LAST,         /* G: to the last line, or line count (linewise) */
    SPAN_FIRST,        /* gg: to the first line, or line count (linewise) */
    SPAN_LINES,        /* cc, Y: count lines from this one (linewise) */
    SPAN_LINE_START,   /* 0 */
    SPAN_NONBLANK,     /* ^ */
    SPAN_LINE_END,     /* $: to the end of the line, count - 1 lines further */
    SPAN_BLANK_NEXT,   /* } */
    SPAN_BLANK_PREV,   /* { */
    SPAN_MATCH,        /* %: through the matching bracket (inclusive) */
    SPAN_KIND = 15,    /* the bits of the kind */
    SPAN_OP_SHIFT = 4, /* the vi_op above them */
};

/* Start of the line delta lines after (delta < 0: before) pos's line, stopping at the last or
 * the first line. */
static size_t line_step(const text *t, size_t pos, long delta)
{
    size_t p = view_line_start(t, pos), size = text_size(t);
    for (; delta > 0; delta--) {
        size_t le = view_line_end(t, p);
        if (le >= size) break;
        p = view_next_cluster(t, le); /* past the line break (CRLF as one) */
    }
    for (; delta < 0 && p > 0; delta++) p = view_line_start(t, p - 1);
    return p;
}

/* vim's rule for an exclusive motion that ends at the start of a later line: it ends at the end
 * of the line before instead, and when nothing but blanks comes before its start the span
 * becomes whole lines (d} from a paragraph's first line takes its lines, not the blank one). */
static void exclusive_adjust(const text *t, size_t s, size_t *e, bool *lines)
{
    if (*e <= s || *e != view_line_start(t, *e) || *e <= view_line_end(t, s)) return;
    *e = view_line_end(t, *e - 1);
    if (only_blanks(t, view_line_start(t, s), s)) *lines = true;
}

static void cmd_span(editor *ed, int count, int arg)
{
    buffer *b = cur(ed);
    if (!b) return;
    const text *t = b->text;
    size_t c = b->cursor, size = text_size(t), s = c, e = c, p;
    long n = count > 0 ? count : 1;
    bool lines = false;
    vi_op op = (vi_op)(arg >> SPAN_OP_SHIFT);
    switch (arg & SPAN_KIND) {
    case SPAN_DOWN:
        if (view_line_end(t, c) >= size) return; /* j cannot move: nothing (vim) */
        e = line_step(t, c, n);
        lines = true;
        break;
    case SPAN_UP:
        if (view_line_start(t, c) == 0) return;
        s = line_step(t, c, -n);
        lines = true;
        break;
    case SPAN_LAST:
    case SPAN_FIRST:
        p = count > 0 ? line_step(t, 0, n - 1) : (arg & SPAN_KIND) == SPAN_FIRST ? 0 : line_step(t, c, (long)size);
        s = p < c ? p : c;
        e = p < c ? c : p;
        lines = true;
        break;
    case SPAN_LINES:
        e = line_step(t, c, n - 1);
        lines = true;
        break;
    case SPAN_LINE_START:
        s = view_line_start(t, c);
        break;
    case SPAN_NONBLANK:
        p = motion_line_nonblank(t, c, 1);
        s = p < c ? p : c;
        e = p < c ? c : p;
        break;
    case SPAN_LINE_END:
        e = view_line_end(t, line_step(t, c, n - 1));
        break;
    case SPAN_BLANK_NEXT:
    case SPAN_BLANK_PREV:
        if ((arg & SPAN_KIND) == SPAN_BLANK_NEXT) {
            p = motion_blank_line_next(t, c, (int)n);
            if (p == TEXT_POS_NONE) return;
            /* where the text ends first, } stops on its last character and takes it in */
            size_t le = view_line_end(t, p);
            bool at_end = le >= size && !only_blanks(t, view_line_start(t, p), le);
            e = at_end ? view_next_cluster(t, p) : p;
        } else {
            p = motion_blank_line_prev(t, c, (int)n);
            if (p == TEXT_POS_NONE) return;
            s = p;
        }
        exclusive_adjust(t, s, &e, &lines);
        break;
    case SPAN_MATCH:
        p = motion_match_bracket(t, c);
        if (p == TEXT_POS_NONE) return;
        s = p < c ? p : c;
        e = view_next_cluster(t, p < c ? c : p);
        break;
    default:
        return;
    }
    if (lines) {
        s = view_line_start(t, s);
        e = view_line_end(t, e);
        if (e < size) e = view_next_cluster(t, e);
    }
    if (op != VI_COPY && !command_editable(ed)) return;
    if (e <= s && op != VI_CHANGE) return;
    if (lines && op == VI_CHANGE && e > s && text_byte_at(t, e - 1) == '\n') {
        /* a change of whole lines puts them in the register but keeps one empty line to type on */
        editor_copy_range(ed, s, e);
        e -= e - 1 > s && text_byte_at(t, e - 2) == '\r' ? 2 : 1;
        command_delete_range(ed, s, e);
        editor_set_mode(ed, "insert");
        return;
    }
    op_span(ed, s, e, op);
    if (lines && op == VI_CUT) b->cursor = motion_line_nonblank(b->text, b->cursor, 1);
}

/* ---- text objects: d, c and y with i or a and the object's key (diw, ca", yi(), visual i and a ---- */

enum { OBJ_AROUND = 1, OBJ_SELECT = 2, OBJ_OP_SHIFT = 2 }; /* the arg of cmd_object */

static void cmd_object(editor *ed, int count, int arg)
{
    if (!ed->char_cp) {
        wait_char(ed, cmd_object, arg, count);
        return;
    }
    buffer *b = cur(ed);
    if (!b) return;
    size_t s, e;
    if (!motion_text_object(b->text, b->cursor, ed->char_cp, arg & OBJ_AROUND, &s, &e)) return;
    if (arg & OBJ_SELECT) {
        if (e > s) buffer_select_range(b, s, e);
        return;
    }
    vi_op op = (vi_op)(arg >> OBJ_OP_SHIFT);
    if (op != VI_COPY && !command_editable(ed)) return;
    if (op == VI_CHANGE && ed->char_cp == 'p' && e > s && text_byte_at(b->text, e - 1) == '\n') {
        /* cip: the paragraph's lines go to the register, one empty line stays to type on */
        editor_copy_range(ed, s, e);
        e -= e - 1 > s && text_byte_at(b->text, e - 2) == '\r' ? 2 : 1;
        command_delete_range(ed, s, e);
        editor_set_mode(ed, "insert");
        return;
    }
    if (e <= s && op != VI_CHANGE) return;
    op_span(ed, s, e, op);
}

/* ---- %, J, ~ and s ---- */

/* vi %: to the bracket matching the first one at or after the cursor in its line (arg: extend
 * the selection). */
static void cmd_match_bracket(editor *ed, int count, int arg)
{
    buffer *b = cur(ed);
    if (!b) return;
    size_t p = motion_match_bracket(b->text, b->cursor);
    if (p != TEXT_POS_NONE) command_move_to(ed, p, arg);
}

/* vi J: joins count lines (two without a count, or with 1 or 2) as vim does with 'nojoinspaces':
 * each line break goes with the next line's leading blanks, and one space comes between unless
 * the line ends in a blank or is empty, or the next line is empty or starts with ")". The
 * cursor ends where the last join was made; on the last line nothing changes. */
static void cmd_join_lines(editor *ed, int count, int arg)
{
    if (!command_editable(ed)) return;
    buffer *b = cur(ed);
    const text *t = b->text;
    int joins = count > 2 ? count - 1 : 1;
    size_t at = b->cursor, s, e;
    if (buffer_selection(b, &s, &e)) { /* visual J: the selection's lines (two at least) */
        joins = 0;
        size_t last = e > s ? e - 1 : s;
        for (size_t p = view_line_start(t, s); view_line_end(t, p) < view_line_end(t, last); p = line_step(t, p, 1))
            joins++;
        if (joins < 1) joins = 1;
        at = s;
        b->anchor = TEXT_POS_NONE;
    }
    bool joined = false;
    for (int i = 0; i < joins; i++) {
        size_t size = text_size(t), le = view_line_end(t, at);
        if (le >= size) break;
        size_t p = view_next_cluster(t, le);
        int c;
        while ((c = text_byte_at(t, p)) == ' ' || c == '\t') p++;
        int last = le > view_line_start(t, le) ? text_byte_at(t, le - 1) : -1;
        bool space = last >= 0 && last != ' ' && last != '\t' && c >= 0 && c != '\n' && c != '\r' && c != ')';
        command_delete_range(ed, le, p);
        if (space && !editor_replace_selection(ed, " ", 1)) return;
        at = le;
        joined = true;
    }
    if (joined) b->cursor = at;
}

/* What case_span does to each letter. */
enum { CASE_TOGGLE, CASE_LOWER, CASE_UPPER };

/* Changes the case of the clusters in [s, *e) (Unicode's simple case mappings of each cluster's
 * first code point); *e follows the bytes as they change length. False when out of memory. */
static bool case_span(editor *ed, size_t s, size_t *e, int how)
{
    buffer *b = cur(ed);
    for (size_t p = s; p < *e; p = view_next_cluster(b->text, p)) {
        unsigned char buf[UTF8_MAX];
        size_t n = utf8_lead_len((unsigned char)text_byte_at(b->text, p));
        if (text_read(b->text, p, n, (char *)buf) != n) continue;
        long cp = utf8_decode(buf, n);
        if (cp < 0) continue;
        utf8proc_int32_t c = (utf8proc_int32_t)cp, to = c;
        if (how == CASE_LOWER || (how == CASE_TOGGLE && utf8proc_isupper(c)))
            to = utf8proc_tolower(c);
        else if (how == CASE_UPPER || how == CASE_TOGGLE)
            to = utf8proc_toupper(c);
        if (to == c) continue;
        char u[UTF8_MAX];
        size_t un = utf8_encode((uint32_t)to, u);
        command_delete_range(ed, p, p + n);
        if (!editor_replace_selection(ed, u, un)) return false;
        *e = *e + un - n;
    }
    return true;
}

/* vi ~: switches the case of count characters from the cursor (in the line) and moves past
 * them; in visual mode (arg: CASE_*, u and U too) that of the selection, the cursor going to
 * its start. */
static void cmd_toggle_case(editor *ed, int count, int arg)
{
    if (!command_editable(ed)) return;
    buffer *b = cur(ed);
    size_t s = b->cursor, e = s;
    if (buffer_selection(b, &s, &e)) {
        b->anchor = TEXT_POS_NONE;
        if (case_span(ed, s, &e, arg)) b->cursor = s;
        return;
    }
    size_t le = view_line_end(b->text, s);
    for (int i = 0; i < (count > 0 ? count : 1) && e < le; i++) e = view_next_cluster(b->text, e);
    if (case_span(ed, s, &e, arg)) b->cursor = e; /* at the line end normal mode steps back */
}

/* vi >> and << (dir 1, -1): count lines from the cursor's (visual > and <: the selection's
 * lines, count times) get one tab stop (tab-width columns) more or less indent, written with
 * tabs and then spaces as vim's defaults do (shiftwidth = tabstop, noexpandtab); an empty line
 * stays. The cursor goes to the first non-blank of the first line. */
static void cmd_shift_lines(editor *ed, int count, int dir)
{
    if (!command_editable(ed)) return;
    buffer *b = cur(ed);
    size_t s, e;
    long lines = count > 0 ? count : 1, times = 1;
    if (buffer_selection(b, &s, &e)) {
        times = lines;
        lines = 1;
        size_t last = e > s ? e - 1 : s; /* the selection's last character's line */
        for (size_t p = view_line_start(b->text, s); view_line_end(b->text, p) < view_line_end(b->text, last);
             p = line_step(b->text, p, 1))
            lines++;
        b->anchor = TEXT_POS_NONE;
    } else {
        s = b->cursor;
    }
    int tw = ed->cfg->tab_width > 0 ? ed->cfg->tab_width : 8;
    size_t first = view_line_start(b->text, s), ls = first;
    for (long i = 0; i < lines; i++) {
        size_t p = ls;
        long col = 0;
        int c;
        while ((c = text_byte_at(b->text, p)) == ' ' || c == '\t') {
            col = c == '\t' ? (col / tw + 1) * tw : col + 1;
            p++;
        }
        bool empty = p == ls && (c < 0 || c == '\n' || c == '\r');
        long want = col + dir * times * tw;
        if (want < 0) want = 0;
        if (!empty && want != col) {
            size_t n = (size_t)(want / tw + want % tw);
            char *ind = malloc(n ? n : 1);
            if (!ind) {
                editor_message(ed, EDITOR_MSG_ERROR, "Out of memory");
                return;
            }
            memset(ind, '\t', (size_t)(want / tw));
            memset(ind + want / tw, ' ', (size_t)(want % tw));
            command_delete_range(ed, ls, p);
            bool ok = editor_replace_selection(ed, ind, n);
            free(ind);
            if (!ok) return;
        }
        if (view_line_end(b->text, ls) >= text_size(b->text)) break;
        ls = line_step(b->text, ls, 1);
    }
    b->cursor = motion_line_nonblank(b->text, first, 1);
}
static void cmd_shift_right(editor *ed, int count, int arg) { cmd_shift_lines(ed, count, 1); }
static void cmd_shift_left(editor *ed, int count, int arg) { cmd_shift_lines(ed, count, -1); }

/* vi s: cuts count characters (as x, in the line) and enters insert mode. */
static void cmd_substitute(editor *ed, int count, int arg)
{
    op_reach(ed, count, false, chars_reach, false, VI_CHANGE);
}

#define FIND(K, OP) ((K) | ((OP) << FIND_OP_SHIFT))
#define REACH_OP(NAME, HELP, REACH, OP) {NAME, HELP, cmd_reach, 0, (REACH) | ((OP) << REACH_OP_SHIFT)}
#define SPAN_OPS(NAME, KIND, WHAT)                                                                           \
    {"cut-" NAME, "Cut " WHAT " into the register", cmd_span, 0, (KIND) | (VI_CUT << SPAN_OP_SHIFT)},         \
        {"copy-" NAME, "Copy " WHAT, cmd_span, 0, (KIND) | (VI_COPY << SPAN_OP_SHIFT)},                       \
        {"mode-change-" NAME, "Change " WHAT, cmd_span, 0, (KIND) | (VI_CHANGE << SPAN_OP_SHIFT)}

const command command_vi_table[] = {
    {"find-char", "Move to the next given character in the line (vi f; a count: the n-th)", cmd_find_char, 0,
     FIND_F},
    {"find-char-till", "Move to just before the next given character in the line (vi t)", cmd_find_char, 0,
     FIND_T},
    {"find-char-back", "Move to the given character before the cursor in the line (vi F)", cmd_find_char, 0,
     FIND_BACK_F},
    {"find-char-back-till", "Move to just after the given character before the cursor (vi T)", cmd_find_char,
     0, FIND_BACK_T},
    {"find-char-again", "Repeat the last f, t, F or T (vi ;)", cmd_find_char, 0, FIND_AGAIN},
    {"find-char-again-reverse", "Repeat the last f, t, F or T the other way (vi ,)", cmd_find_char, 0,
     FIND_AGAIN | FIND_REVERSE},
    {"select-find-char", "Extend the selection to the next given character (vi f)", cmd_find_char, 0,
     FIND_F | FIND_SELECT},
    {"select-find-char-till", "Extend the selection to just before the next given character (vi t)",
     cmd_find_char, 0, FIND_T | FIND_SELECT},
    {"select-find-char-back", "Extend the selection to the given character before (vi F)", cmd_find_char, 0,
     FIND_BACK_F | FIND_SELECT},
    {"select-find-char-back-till", "Extend the selection to just after the given character before (vi T)",
     cmd_find_char, 0, FIND_BACK_T | FIND_SELECT},
    {"select-find-char-again", "Extend the selection: repeat the last f, t, F or T (vi ;)", cmd_find_char, 0,
     FIND_AGAIN | FIND_SELECT},
    {"select-find-char-again-reverse", "Extend the selection: repeat the last f, t, F or T the other way (vi ,)",
     cmd_find_char, 0, FIND_AGAIN | FIND_REVERSE | FIND_SELECT},
    {"cut-find-char", "Cut through the next given character (vi d,f)", cmd_find_char, 0, FIND(FIND_F, 1 + VI_CUT)},
    {"cut-find-char-till", "Cut up to the next given character (vi d,t)", cmd_find_char, 0,
     FIND(FIND_T, 1 + VI_CUT)},
    {"cut-find-char-back", "Cut back to the given character before (vi d,F)", cmd_find_char, 0,
     FIND(FIND_BACK_F, 1 + VI_CUT)},
    {"cut-find-char-back-till", "Cut back to just after the given character before (vi d,T)", cmd_find_char, 0,
     FIND(FIND_BACK_T, 1 + VI_CUT)},
    {"copy-find-char", "Copy through the next given character (vi y,f)", cmd_find_char, 0,
     FIND(FIND_F, 1 + VI_COPY)},
    {"copy-find-char-till", "Copy up to the next given character (vi y,t)", cmd_find_char, 0,
     FIND(FIND_T, 1 + VI_COPY)},
    {"copy-find-char-back", "Copy back to the given character before (vi y,F)", cmd_find_char, 0,
     FIND(FIND_BACK_F, 1 + VI_COPY)},
    {"copy-find-char-back-till", "Copy back to just after the given character before (vi y,T)", cmd_find_char,
     0, FIND(FIND_BACK_T, 1 + VI_COPY)},
    {"mode-change-find-char", "Change through the next given character (vi c,f)", cmd_find_char, 0,
     FIND(FIND_F, 1 + VI_CHANGE)},
    {"mode-change-find-char-till", "Change up to the next given character (vi c,t)", cmd_find_char, 0,
     FIND(FIND_T, 1 + VI_CHANGE)},
    {"mode-change-find-char-back", "Change back to the given character before (vi c,F)", cmd_find_char, 0,
     FIND(FIND_BACK_F, 1 + VI_CHANGE)},
    {"mode-change-find-char-back-till", "Change back to just after the given character before (vi c,T)",
     cmd_find_char, 0, FIND(FIND_BACK_T, 1 + VI_CHANGE)},
    {"replace-char", "Replace the character (a count: that many) by the next key typed (vi r)",
     cmd_replace_char, 0, 0},
    {"cut-inner-object", "Cut the inside of the text object typed next: w W ( [ { < \" ' ` p s (vi d,i)",
     cmd_object, 0, VI_CUT << OBJ_OP_SHIFT},
    {"cut-around-object", "Cut the text object typed next with its brackets, quotes or blanks (vi d,a)",
     cmd_object, 0, OBJ_AROUND | VI_CUT << OBJ_OP_SHIFT},
    {"copy-inner-object", "Copy the inside of the text object typed next (vi y,i)", cmd_object, 0,
     VI_COPY << OBJ_OP_SHIFT},
    {"copy-around-object", "Copy the text object typed next with its brackets, quotes or blanks (vi y,a)",
     cmd_object, 0, OBJ_AROUND | VI_COPY << OBJ_OP_SHIFT},
    {"mode-change-inner-object", "Change the inside of the text object typed next (vi c,i)", cmd_object, 0,
     VI_CHANGE << OBJ_OP_SHIFT},
    {"mode-change-around-object", "Change the text object typed next with its brackets, quotes or blanks (vi c,a)",
     cmd_object, 0, OBJ_AROUND | VI_CHANGE << OBJ_OP_SHIFT},
    {"select-inner-object", "Select the inside of the text object typed next (vi visual i)", cmd_object, 0,
     OBJ_SELECT},
    {"select-around-object", "Select the text object typed next with its brackets, quotes or blanks (vi visual a)",
     cmd_object, 0, OBJ_SELECT | OBJ_AROUND},
    {"match-bracket", "Move to the bracket matching the one at or after the cursor in the line (vi %)",
     cmd_match_bracket, 0, 0},
    {"select-match-bracket", "Extend the selection to the matching bracket (vi %)", cmd_match_bracket, 0, 1},
    {"join-lines", "Join the line and the next (a count: that many lines) with one space (vi J)",
     cmd_join_lines, 0, 0},
    {"toggle-case", "Switch the case of the character (a count: that many) or of the selection (vi ~)",
     cmd_toggle_case, 0, CASE_TOGGLE},
    {"lower-case", "Lower the case of the selection (or of the character; vi visual u)", cmd_toggle_case, 0,
     CASE_LOWER},
    {"upper-case", "Raise the case of the selection (or of the character; vi visual U)", cmd_toggle_case, 0,
     CASE_UPPER},
    {"shift-right", "Indent the line (a count: that many; the selection's lines) by one tab stop (vi >>)",
     cmd_shift_right, 0, 0},
    {"shift-left", "Take one tab stop of indent off the line (a count: that many; the selection's; vi <<)",
     cmd_shift_left, 0, 0},
    {"mode-change-char", "Cut the character (a count: more, in the line) and insert (vi s)", cmd_substitute, 0,
     0},
    SPAN_OPS("to-match-bracket", SPAN_MATCH, "through the matching bracket (vi %)"),
    SPAN_OPS("lines-down", SPAN_DOWN, "this line and the next (a count: more; vi j)"),
    SPAN_OPS("lines-up", SPAN_UP, "this line and the one before (a count: more; vi k)"),
    SPAN_OPS("to-last-line", SPAN_LAST, "the lines to the last one (a count: to that line; vi G)"),
    SPAN_OPS("to-first-line", SPAN_FIRST, "the lines to the first one (a count: to that line; vi g,g)"),
    SPAN_OPS("lines", SPAN_LINES, "the line (a count: that many lines)"),
    SPAN_OPS("to-line-start", SPAN_LINE_START, "back to the start of the line (vi 0)"),
    SPAN_OPS("to-line-nonblank", SPAN_NONBLANK, "to the first non-blank of the line (vi ^)"),
    SPAN_OPS("to-line-end", SPAN_LINE_END, "to the end of the line (a count: count - 1 lines further; vi $)"),
    SPAN_OPS("to-blank-line-next", SPAN_BLANK_NEXT, "to the blank line after the paragraph (vi })"),
    SPAN_OPS("to-blank-line-prev", SPAN_BLANK_PREV, "back to the blank line before the paragraph (vi {)"),
    REACH_OP("cut-char-after",
             "Cut the character at the cursor (a count: more, to the line end) into the register", REACH_CHARS,
             VI_CUT),
    REACH_OP("cut-char-before",
             "Cut the character before the cursor (a count: more, to the line start) into the register",
             REACH_CHARS | REACH_BACK, VI_CUT),
    REACH_OP("delete-word", "Cut the word and the blanks after it into the register (vi d,w)",
             REACH_WORDS | REACH_LINES, VI_CUT),
    REACH_OP("cut-word-before", "Cut to the start of the word into the register (vi d,b)",
             REACH_WORDS | REACH_BACK | REACH_LINES, VI_CUT),
    REACH_OP("delete-bigword", "Cut the WORD and the blanks after it into the register (vi d,W)",
             REACH_BIGWORDS | REACH_LINES, VI_CUT),
    REACH_OP("cut-bigword-before", "Cut to the start of the WORD into the register (vi d,B)",
             REACH_BIGWORDS | REACH_BACK | REACH_LINES, VI_CUT),
    REACH_OP("cut-word-end", "Cut through the end of the word into the register (vi d,e)",
             REACH_ENDS | REACH_LINES, VI_CUT),
    REACH_OP("cut-bigword-end", "Cut through the end of the WORD into the register (vi d,E)",
             REACH_BIGENDS | REACH_LINES, VI_CUT),
    REACH_OP("copy-word", "Copy the word and the blanks after it (vi y,w)", REACH_WORDS | REACH_LINES, VI_COPY),
    REACH_OP("copy-bigword", "Copy the WORD and the blanks after it (vi y,W)", REACH_BIGWORDS | REACH_LINES,
             VI_COPY),
    REACH_OP("copy-word-before", "Copy to the start of the word (vi y,b)", REACH_WORDS | REACH_BACK | REACH_LINES,
             VI_COPY),
    REACH_OP("copy-bigword-before", "Copy to the start of the WORD (vi y,B)",
             REACH_BIGWORDS | REACH_BACK | REACH_LINES, VI_COPY),
    REACH_OP("copy-word-end", "Copy through the end of the word (vi y,e)", REACH_ENDS | REACH_LINES, VI_COPY),
    REACH_OP("copy-bigword-end", "Copy through the end of the WORD (vi y,E)", REACH_BIGENDS | REACH_LINES,
             VI_COPY),
    REACH_OP("mode-change-word", "Cut to the end of the word and insert (vi c,w; on blanks as d,w)", REACH_CHANGE,
             VI_CHANGE),
    REACH_OP("mode-change-bigword", "Cut to the end of the WORD and insert (vi c,W)", REACH_CHANGE_BIG,
             VI_CHANGE),
    REACH_OP("mode-change-word-end", "Cut through the end of the word and insert (vi c,e)", REACH_ENDS,
             VI_CHANGE),
    REACH_OP("mode-change-bigword-end", "Cut through the end of the WORD and insert (vi c,E)", REACH_BIGENDS,
             VI_CHANGE),
    REACH_OP("mode-change-word-before", "Cut to the start of the word and insert (vi c,b)",
             REACH_WORDS | REACH_BACK, VI_CHANGE),
    REACH_OP("mode-change-bigword-before", "Cut to the start of the WORD and insert (vi c,B)",
             REACH_BIGWORDS | REACH_BACK, VI_CHANGE),
};

#undef FIND
#undef SPAN_OPS
#undef REACH_OP

const int command_vi_count = (int)(sizeof command_vi_table / sizeof command_vi_table[0]);

static void wait_char(editor *ed, command_fn fn, int arg, int count)
{
    for (int i = 0; i < command_vi_count; i++)
        if (command_vi_table[i].fn == fn && command_vi_table[i].arg == arg) {
            ed->char_wait = command_vi_table[i].name;
            ed->char_wait_count = count;
            return;
        }
}
