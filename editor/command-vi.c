/* command-vi.c: the vi operators and their table: x and X, and d, y and c over words (w W b B
 * e E) with counts, by vim's rules (d,w not joining lines, whole lines, c,w as c,e).
 * Depends on editor-core.h, motion.h, view.h; no curses, no model. */
#include "command.h"
#include "editor-core.h"

#include "motion.h"
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

static void cut_reach(editor *ed, int count, bool before, reach_fn reach, bool vim_lines)
{
    op_reach(ed, count, before, reach, vim_lines, VI_CUT);
}

/* vi x and X: n characters after / before p, never over a line break (on an empty line, or X
 * at the line start, none: nothing is cut and the register stays). */
static size_t chars_reach(const text *t, size_t p, int n, bool before)
{
    size_t stop = before ? view_line_start(t, p) : view_line_end(t, p);
    for (int i = 0; i < n && p != stop; i++) p = before ? view_prev_cluster(t, p) : view_next_cluster(t, p);
    return p;
}

static void cmd_cut_char_after(editor *ed, int count, int arg)
{
    cut_reach(ed, count, false, chars_reach, false);
}
static void cmd_cut_char_before(editor *ed, int count, int arg)
{
    cut_reach(ed, count, true, chars_reach, false);
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

/* The vi operators over words: d, y and c with w, W, b, B, e and E (counts multiply the steps). */
static void cmd_delete_word(editor *ed, int count, int arg)
{
    cut_reach(ed, count, false, words_reach, true);
}
static void cmd_cut_word_before(editor *ed, int count, int arg)
{
    cut_reach(ed, count, true, words_reach, true);
}
static void cmd_delete_bigword(editor *ed, int count, int arg)
{
    cut_reach(ed, count, false, bigwords_reach, true);
}
static void cmd_cut_bigword_before(editor *ed, int count, int arg)
{
    cut_reach(ed, count, true, bigwords_reach, true);
}
static void cmd_cut_word_end(editor *ed, int count, int arg)
{
    cut_reach(ed, count, false, ends_reach, true);
}
static void cmd_cut_bigword_end(editor *ed, int count, int arg)
{
    cut_reach(ed, count, false, bigends_reach, true);
}
static void cmd_copy_word(editor *ed, int count, int arg)
{
    op_reach(ed, count, false, words_reach, true, VI_COPY);
}
static void cmd_copy_bigword(editor *ed, int count, int arg)
{
    op_reach(ed, count, false, bigwords_reach, true, VI_COPY);
}
static void cmd_copy_word_before(editor *ed, int count, int arg)
{
    op_reach(ed, count, true, words_reach, true, VI_COPY);
}
static void cmd_copy_bigword_before(editor *ed, int count, int arg)
{
    op_reach(ed, count, true, bigwords_reach, true, VI_COPY);
}
static void cmd_copy_word_end(editor *ed, int count, int arg)
{
    op_reach(ed, count, false, ends_reach, true, VI_COPY);
}
static void cmd_copy_bigword_end(editor *ed, int count, int arg)
{
    op_reach(ed, count, false, bigends_reach, true, VI_COPY);
}
static void cmd_change_word(editor *ed, int count, int arg)
{
    op_reach(ed, count, false, change_words_reach, false, VI_CHANGE);
}
static void cmd_change_bigword(editor *ed, int count, int arg)
{
    op_reach(ed, count, false, change_bigwords_reach, false, VI_CHANGE);
}
static void cmd_change_word_end(editor *ed, int count, int arg)
{
    op_reach(ed, count, false, ends_reach, false, VI_CHANGE);
}
static void cmd_change_bigword_end(editor *ed, int count, int arg)
{
    op_reach(ed, count, false, bigends_reach, false, VI_CHANGE);
}
static void cmd_change_word_before(editor *ed, int count, int arg)
{
    op_reach(ed, count, true, words_reach, false, VI_CHANGE);
}
static void cmd_change_bigword_before(editor *ed, int count, int arg)
{
    op_reach(ed, count, true, bigwords_reach, false, VI_CHANGE);
}

const command command_vi_table[] = {
    {"cut-char-after", "Cut the character at the cursor (a count: more, to the line end) into the register",
     cmd_cut_char_after, 0, 0},
    {"cut-char-before",
     "Cut the character before the cursor (a count: more, to the line start) into the register",
     cmd_cut_char_before, 0, 0},
    {"delete-word", "Cut the word and the blanks after it into the register (vi d,w)", cmd_delete_word, 0, 0},
    {"cut-word-before", "Cut to the start of the word into the register (vi d,b)", cmd_cut_word_before, 0, 0},
    {"delete-bigword", "Cut the WORD and the blanks after it into the register (vi d,W)", cmd_delete_bigword, 0,
     0},
    {"cut-bigword-before", "Cut to the start of the WORD into the register (vi d,B)", cmd_cut_bigword_before, 0,
     0},
    {"cut-word-end", "Cut through the end of the word into the register (vi d,e)", cmd_cut_word_end, 0, 0},
    {"cut-bigword-end", "Cut through the end of the WORD into the register (vi d,E)", cmd_cut_bigword_end, 0,
     0},
    {"copy-word", "Copy the word and the blanks after it (vi y,w)", cmd_copy_word, 0, 0},
    {"copy-bigword", "Copy the WORD and the blanks after it (vi y,W)", cmd_copy_bigword, 0, 0},
    {"copy-word-before", "Copy to the start of the word (vi y,b)", cmd_copy_word_before, 0, 0},
    {"copy-bigword-before", "Copy to the start of the WORD (vi y,B)", cmd_copy_bigword_before, 0, 0},
    {"copy-word-end", "Copy through the end of the word (vi y,e)", cmd_copy_word_end, 0, 0},
    {"copy-bigword-end", "Copy through the end of the WORD (vi y,E)", cmd_copy_bigword_end, 0, 0},
    {"mode-change-word", "Cut to the end of the word and insert (vi c,w; on blanks as d,w)", cmd_change_word, 0,
     0},
    {"mode-change-bigword", "Cut to the end of the WORD and insert (vi c,W)", cmd_change_bigword, 0, 0},
    {"mode-change-word-end", "Cut through the end of the word and insert (vi c,e)", cmd_change_word_end, 0, 0},
    {"mode-change-bigword-end", "Cut through the end of the WORD and insert (vi c,E)", cmd_change_bigword_end, 0,
     0},
    {"mode-change-word-before", "Cut to the start of the word and insert (vi c,b)", cmd_change_word_before, 0,
     0},
    {"mode-change-bigword-before", "Cut to the start of the WORD and insert (vi c,B)",
     cmd_change_bigword_before, 0, 0},
};

const int command_vi_count = (int)(sizeof command_vi_table / sizeof command_vi_table[0]);
