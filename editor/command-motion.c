/* command-motion.c: the motion and selection commands (by character, word, sentence,
 * paragraph, line, page, buffer; go to line; select by unit) and their table.
 * Depends on editor-core.h, motion.h, view.h; no curses, no model. */
#include "command.h"
#include "editor-core.h"

#include <stdio.h>
#include <stdlib.h>
#include "motion.h"
#include "view.h"

static buffer *cur(editor *ed) { return editor_buffer(ed); }

/* ---- motions: each returns the new cursor position ---- */

typedef size_t (*motion_fn)(editor *ed, buffer *b);

static size_t mv_char_left(editor *ed, buffer *b)
{
    (void)ed;
    return view_prev_cluster(b->text, b->cursor);
}
static size_t mv_char_right(editor *ed, buffer *b)
{
    (void)ed;
    return view_next_cluster(b->text, b->cursor);
}
/* vi h and l: as char-left/right, but never over a line break (vim's default 'whichwrap'). */
static size_t mv_char_left_in_line(editor *ed, buffer *b)
{
    (void)ed;
    if (b->cursor <= view_line_start(b->text, b->cursor)) return b->cursor;
    return view_prev_cluster(b->text, b->cursor);
}
static size_t mv_char_right_in_line(editor *ed, buffer *b)
{
    (void)ed;
    if (b->cursor >= view_line_end(b->text, b->cursor)) return b->cursor;
    return view_next_cluster(b->text, b->cursor);
}
static size_t mv_word_left(editor *ed, buffer *b)
{
    (void)ed;
    return motion_word_prev(b->text, b->cursor);
}
static size_t mv_word_right(editor *ed, buffer *b)
{
    (void)ed;
    return motion_word_next(b->text, b->cursor);
}
/* vi b and w: an empty line is a word of its own (vim). */
static size_t mv_vi_word_left(editor *ed, buffer *b)
{
    (void)ed;
    return motion_vi_word_prev(b->text, b->cursor);
}
static size_t mv_vi_word_right(editor *ed, buffer *b)
{
    (void)ed;
    return motion_vi_word_next(b->text, b->cursor);
}
/* vi W and B: WORDs, runs of non-blanks; an empty line is one too. */
static size_t mv_vi_bigword_left(editor *ed, buffer *b)
{
    (void)ed;
    return motion_vi_bigword_prev(b->text, b->cursor);
}
static size_t mv_vi_bigword_right(editor *ed, buffer *b)
{
    (void)ed;
    return motion_vi_bigword_next(b->text, b->cursor);
}
static size_t mv_word_end(editor *ed, buffer *b)
{
    (void)ed;
    return motion_word_last(b->text, b->cursor);
}
static size_t mv_bigword_end(editor *ed, buffer *b)
{
    (void)ed;
    return motion_bigword_last(b->text, b->cursor);
}
/* vi ge and gE: back to the last character of the word (WORD) before. */
static size_t mv_word_end_prev(editor *ed, buffer *b)
{
    (void)ed;
    return motion_word_last_prev(b->text, b->cursor, false);
}
static size_t mv_bigword_end_prev(editor *ed, buffer *b)
{
    (void)ed;
    return motion_word_last_prev(b->text, b->cursor, true);
}
static size_t mv_sentence_prev(editor *ed, buffer *b)
{
    (void)ed;
    return motion_sentence_prev(b->text, b->cursor);
}
static size_t mv_sentence_next(editor *ed, buffer *b)
{
    (void)ed;
    return motion_sentence_next(b->text, b->cursor);
}
static size_t mv_paragraph_prev(editor *ed, buffer *b)
{
    (void)ed;
    return motion_paragraph_prev(b->text, b->cursor);
}
static size_t mv_paragraph_next(editor *ed, buffer *b)
{
    (void)ed;
    return motion_paragraph_next(b->text, b->cursor);
}
static size_t mv_buffer_start(editor *ed, buffer *b)
{
    (void)ed;
    (void)b;
    return 0;
}
static size_t mv_buffer_end(editor *ed, buffer *b)
{
    (void)ed;
    return text_size(b->text);
}

/* Layout options for vertical motions: no horizontal scroll, wide rows when not wrapping. */
static view_opts mv_opts(editor *ed)
{
    view_opts o = editor_view_opts(ed);
    if (!o.wrap) {
        o.width = 4096;
        o.hscroll = 0;
    }
    return o;
}

/* Home and End take the whole line, however many screen rows it wraps to: what is typed or
 * continued after End follows the line's last character. row-start and row-end stop at the
 * screen row's edge first and go on to the line's when pressed there. */
static size_t mv_line_start(editor *ed, buffer *b)
{
    (void)ed;
    return view_line_start(b->text, b->cursor);
}
static size_t mv_line_end(editor *ed, buffer *b)
{
    (void)ed;
    return view_line_end(b->text, b->cursor);
}

static size_t mv_row_start(editor *ed, buffer *b)
{
    view_opts o = mv_opts(ed);
    size_t rs = view_row_start(b->text, b->cursor, &o);
    /* on a wrapped row's start, go on to the line start */
    return rs == b->cursor ? view_line_start(b->text, b->cursor) : rs;
}

static size_t mv_row_end(editor *ed, buffer *b)
{
    view_opts o = mv_opts(ed);
    view_row *row = editor_scratch_row(ed, o.width);
    view_row_layout(b->text, view_row_start(b->text, b->cursor, &o), &o, row);
    size_t e = row->content_end;
    if (!row->newline && !row->last && row->n_cells > 0) e = row->cells[row->n_cells - 1].pos;
    return e == b->cursor ? view_line_end(b->text, b->cursor) : e;
}

static size_t mv_line_up(editor *ed, buffer *b)
{
    view_opts o = mv_opts(ed);
    view_row *row = editor_scratch_row(ed, o.width);
    size_t rs = view_row_start(b->text, b->cursor, &o);
    view_row_layout(b->text, rs, &o, row);
    if (b->goal_col < 0) b->goal_col = view_row_col(row, b->cursor);
    if (rs == 0) return 0;
    view_row_layout(b->text, view_row_prev(b->text, rs, &o), &o, row);
    return view_row_pos(row, b->goal_col);
}

static size_t mv_line_down(editor *ed, buffer *b)
{
    view_opts o = mv_opts(ed);
    view_row *row = editor_scratch_row(ed, o.width);
    size_t rs = view_row_start(b->text, b->cursor, &o);
    size_t next = view_row_layout(b->text, rs, &o, row);
    if (b->goal_col < 0) b->goal_col = view_row_col(row, b->cursor);
    if (row->last) return text_size(b->text);
    view_row_layout(b->text, next, &o, row);
    return view_row_pos(row, b->goal_col);
}

/* Page motions move the cursor by a screen less two rows and keep its row on the screen. */
static size_t mv_page(editor *ed, buffer *b, bool down)
{
    view_opts o = editor_view_opts(ed);
    view_row *row = editor_scratch_row(ed, o.width);
    int rows = editor_text_rows(ed), r0 = 0;
    size_t p = view_row_start(b->text, b->top, &o), crs = view_row_start(b->text, b->cursor, &o);
    while (p < crs && r0 < rows) {
        size_t next = view_row_layout(b->text, p, &o, row);
        if (row->last || next <= p) break;
        p = next;
        r0++;
    }
    int n = rows > 3 ? rows - 2 : 1;
    size_t saved = b->cursor;
    for (int i = 0; i < n; i++) {
        size_t np = down ? mv_line_down(ed, b) : mv_line_up(ed, b);
        if (np == b->cursor) break;
        b->cursor = np;
    }
    size_t np = b->cursor;
    b->cursor = saved;
    size_t top = view_row_start(b->text, np, &o);
    for (int i = 0; i < r0 && top > 0; i++) top = view_row_prev(b->text, top, &o);
    if (down) {
        /* Never past the end: the text's last row stays on the screen's last row at most. */
        size_t max_top = view_row_start(b->text, text_size(b->text), &o);
        for (int i = 1; i < rows && max_top > 0; i++) max_top = view_row_prev(b->text, max_top, &o);
        if (top > max_top) top = max_top;
    }
    b->top = top;
    ed->keep_top = true;
    return np;
}

static size_t mv_page_up(editor *ed, buffer *b) { return mv_page(ed, b, false); }
static size_t mv_page_down(editor *ed, buffer *b) { return mv_page(ed, b, true); }

static void run_motion(editor *ed, motion_fn fn, bool select)
{
    buffer *b = cur(ed);
    if (!b) return;
    if (b->anchor == TEXT_POS_NONE) b->mark = false; /* the selection ended: so did the mark */
    if (b->mark) select = true;
    size_t s, e;
    bool left = fn == mv_char_left || fn == mv_char_left_in_line;
    if (!select && buffer_selection(b, &s, &e) &&
        (left || fn == mv_char_right || fn == mv_char_right_in_line)) {
        /* Left/Right with a selection go to its edge */
        b->cursor = left ? s : e;
        b->anchor = TEXT_POS_NONE;
        return;
    }
    if (select && b->anchor == TEXT_POS_NONE) b->anchor = b->cursor;
    if (!select) b->anchor = TEXT_POS_NONE;
    b->cursor = fn(ed, b);
}

void command_move_to(editor *ed, size_t pos, bool select)
{
    buffer *b = cur(ed);
    if (!b) return;
    if (b->anchor == TEXT_POS_NONE) b->mark = false;
    if (b->mark) select = true;
    if (select && b->anchor == TEXT_POS_NONE) b->anchor = b->cursor;
    if (!select) b->anchor = TEXT_POS_NONE;
    b->cursor = pos;
}

#define MOTION(NAME, FN)                                                                                     \
    static void cmd_##NAME(editor *ed, int count, int arg)                                                   \
    {                                                                                                        \
        (void)count;                                                                                         \
        run_motion(ed, FN, false);                                                                           \
    }                                                                                                        \
    static void cmd_select_##NAME(editor *ed, int count, int arg)                                            \
    {                                                                                                        \
        (void)count;                                                                                         \
        run_motion(ed, FN, true);                                                                            \
    }

MOTION(char_left, mv_char_left)
MOTION(char_right, mv_char_right)
MOTION(char_left_in_line, mv_char_left_in_line)
MOTION(char_right_in_line, mv_char_right_in_line)
MOTION(line_up, mv_line_up)
MOTION(line_down, mv_line_down)
MOTION(word_left, mv_word_left)
MOTION(word_right, mv_word_right)
MOTION(vi_word_left, mv_vi_word_left)
MOTION(vi_word_right, mv_vi_word_right)
MOTION(vi_bigword_left, mv_vi_bigword_left)
MOTION(vi_bigword_right, mv_vi_bigword_right)
MOTION(word_end_prev, mv_word_end_prev)
MOTION(bigword_end_prev, mv_bigword_end_prev)
static void cmd_word_end(editor *ed, int count, int arg)
{
    (void)count;
    run_motion(ed, mv_word_end, false);
}
static void cmd_bigword_end(editor *ed, int count, int arg)
{
    (void)count;
    run_motion(ed, mv_bigword_end, false);
}
/* Extending to the end of the word: an inclusive selection (vi visual) takes the cursor to the
 * word's last character as e does; an exclusive one ends after it (a cursor past the anchor
 * already stands after the character the previous end took in). */
static size_t select_end(buffer *b, size_t (*last_of)(const text *, size_t))
{
    if (b->inclusive) return last_of(b->text, b->cursor);
    size_t pos = b->cursor;
    if (b->anchor != TEXT_POS_NONE && pos > b->anchor) pos = view_prev_cluster(b->text, pos);
    size_t last = last_of(b->text, pos);
    return last == pos ? b->cursor : view_next_cluster(b->text, last);
}
static size_t mv_select_word_end(editor *ed, buffer *b)
{
    (void)ed;
    return select_end(b, motion_word_last);
}
static size_t mv_select_bigword_end(editor *ed, buffer *b)
{
    (void)ed;
    return select_end(b, motion_bigword_last);
}
static void cmd_select_word_end(editor *ed, int count, int arg)
{
    (void)count;
    run_motion(ed, mv_select_word_end, true);
}
static void cmd_select_bigword_end(editor *ed, int count, int arg)
{
    (void)count;
    run_motion(ed, mv_select_bigword_end, true);
}
MOTION(sentence_prev, mv_sentence_prev)
MOTION(sentence_next, mv_sentence_next)
MOTION(paragraph_prev, mv_paragraph_prev)
MOTION(paragraph_next, mv_paragraph_next)
MOTION(line_start, mv_line_start)
MOTION(line_end, mv_line_end)
MOTION(row_start, mv_row_start)
MOTION(row_end, mv_row_end)
MOTION(page_up, mv_page_up)
MOTION(page_down, mv_page_down)
MOTION(buffer_start, mv_buffer_start)
MOTION(buffer_end, mv_buffer_end)

/* A counted vi motion: the position count moves from pos, TEXT_POS_NONE when vi does not move. */
typedef size_t (*counted_fn)(const text *t, size_t pos, int count);

/* vi }, {, + and - (count times, as one motion: a motion that cannot be made moves nothing).
 * An inclusive selection (vi visual) takes in the character landed on (a blank line's line
 * end, the text's last character, a line's first non-blank) by itself; extending an exclusive
 * one, that character is taken in when it lies after the anchor (a cursor past the anchor
 * already stands after the character the previous end took in). */
static void run_counted(editor *ed, int count, counted_fn fn, bool select)
{
    buffer *b = cur(ed);
    if (!b) return;
    if (b->anchor == TEXT_POS_NONE) b->mark = false; /* the selection ended: so did the mark */
    if (b->mark) select = true;
    if (!select) b->anchor = TEXT_POS_NONE;
    bool past = select && !b->inclusive; /* an exclusive selection's end stands past its character */
    size_t pos = b->cursor;
    if (past && b->anchor != TEXT_POS_NONE && pos > b->anchor) pos = view_prev_cluster(b->text, pos);
    size_t to = fn(b->text, pos, count > 0 ? count : 1);
    if (to == TEXT_POS_NONE) return;
    if (select && b->anchor == TEXT_POS_NONE) b->anchor = b->cursor;
    if (past && to >= b->anchor && to < text_size(b->text)) to = view_next_cluster(b->text, to);
    b->cursor = to;
}
#define COUNTED(NAME, FN)                                                                                    \
    static void cmd_##NAME(editor *ed, int count, int arg) { run_counted(ed, count, FN, false); }            \
    static void cmd_select_##NAME(editor *ed, int count, int arg) { run_counted(ed, count, FN, true); }

COUNTED(blank_line_next, motion_blank_line_next)
COUNTED(blank_line_prev, motion_blank_line_prev)
COUNTED(line_nonblank, motion_line_nonblank)
COUNTED(line_next_nonblank, motion_line_next_nonblank)
COUNTED(line_prev_nonblank, motion_line_prev_nonblank)

/* Enter on the go-to-line prompt. */
static void goto_accept(editor *ed, const char *input, void *ctx)
{
    (void)ctx;
    char in[EDITOR_INPUT_MAX];
    snprintf(in, sizeof in, "%s", input);
    editor_prompt_end(ed);
    char *end;
    long line = strtol(in, &end, 10);
    if (end == in || line < 1) {
        editor_message(ed, EDITOR_MSG_ERROR, "Not a line number: %s", in);
        return;
    }
    editor_goto_line(ed, (size_t)line - 1);
}

static const editor_prompt_ops goto_prompt = {.kind = PROMPT_GOTO, .accept = goto_accept};

static void cmd_goto_line(editor *ed, int count, int arg)
{
    if (count > 0)
        editor_goto_line(ed, (size_t)count - 1);
    else
        editor_prompt_open(ed, &goto_prompt, NULL, "Go to line: ", "");
}

/* ---- selection by unit ---- */

static void select_range(editor *ed, size_t s, size_t e)
{
    buffer *b = cur(ed);
    if (e > s)
        buffer_select_range(b, s, e);
    else {
        b->anchor = s;
        b->cursor = e;
    }
}

/* vi visual o: the cursor goes to the other end of the selection (the anchor to this one). */
static void cmd_select_swap_ends(editor *ed, int count, int arg)
{
    buffer *b = cur(ed);
    if (!b || b->anchor == TEXT_POS_NONE) return;
    size_t a = b->anchor;
    b->anchor = b->cursor;
    b->cursor = a;
}

static void cmd_select_all(editor *ed, int count, int arg)
{
    (void)count;
    if (cur(ed)) select_range(ed, 0, text_size(cur(ed)->text));
}

typedef void (*unit_fn)(const text *t, size_t pos, size_t *s, size_t *e);

static void select_unit(editor *ed, unit_fn fn)
{
    buffer *b = cur(ed);
    if (!b) return;
    size_t s, e;
    fn(b->text, b->cursor, &s, &e);
    select_range(ed, s, e);
}

static void cmd_select_word(editor *ed, int c, int arg)
{
    (void)c;
    select_unit(ed, motion_word_range);
}
static void cmd_select_sentence(editor *ed, int c, int arg)
{
    (void)c;
    select_unit(ed, motion_sentence_range);
}
static void cmd_select_paragraph(editor *ed, int c, int arg)
{
    (void)c;
    select_unit(ed, motion_paragraph_range);
}
static void cmd_select_line(editor *ed, int c, int arg)
{
    (void)c;
    select_unit(ed, motion_line_range);
}

/* ---- the table ---- */

#define R COMMAND_REPEAT
#define G (COMMAND_REPEAT | COMMAND_KEEP_GOAL)

const command command_motion_table[] = {
    {"char-left", "Move one character left", cmd_char_left, R, 0},
    {"char-right", "Move one character right", cmd_char_right, R, 0},
    {"char-left-in-line", "Move one character left, not past the line start (vi h)", cmd_char_left_in_line, R,
     0},
    {"char-right-in-line", "Move one character right, not past the line end (vi l)", cmd_char_right_in_line,
     R, 0},
    {"line-up", "Move one screen line up", cmd_line_up, G, 0},
    {"line-down", "Move one screen line down", cmd_line_down, G, 0},
    {"word-left", "Move to the start of the word before", cmd_word_left, R, 0},
    {"word-right", "Move to the start of the next word", cmd_word_right, R, 0},
    {"vi-word-left", "Move to the start of the word before; an empty line is a word (vi b)", cmd_vi_word_left,
     R, 0},
    {"vi-word-right", "Move to the start of the next word; an empty line is a word (vi w)", cmd_vi_word_right,
     R, 0},
    {"word-end", "Move to the last character of the word (vi e)", cmd_word_end, R, 0},
    {"vi-bigword-left", "Move to the start of the WORD (run of non-blanks) before (vi B)", cmd_vi_bigword_left,
     R, 0},
    {"vi-bigword-right", "Move to the start of the next WORD (run of non-blanks) (vi W)", cmd_vi_bigword_right,
     R, 0},
    {"bigword-end", "Move to the last character of the WORD (vi E)", cmd_bigword_end, R, 0},
    {"word-end-prev", "Move to the last character of the word before (vi ge)", cmd_word_end_prev, R, 0},
    {"bigword-end-prev", "Move to the last character of the WORD before (vi gE)", cmd_bigword_end_prev, R, 0},
    {"sentence-prev", "Move to the start of the sentence", cmd_sentence_prev, R, 0},
    {"sentence-next", "Move to the start of the next sentence", cmd_sentence_next, R, 0},
    {"paragraph-prev", "Move to the start of the paragraph", cmd_paragraph_prev, R, 0},
    {"paragraph-next", "Move to the start of the next paragraph", cmd_paragraph_next, R, 0},
    {"blank-line-next", "Move to the blank line after the paragraph (vi })", cmd_blank_line_next, 0, 0},
    {"blank-line-prev", "Move to the blank line before the paragraph (vi {)", cmd_blank_line_prev, 0, 0},
    {"line-nonblank", "Move to the first non-blank of the line (vi ^)", cmd_line_nonblank, 0, 0},
    {"line-next-nonblank", "Move to the first non-blank of the next line (vi +, Enter)",
     cmd_line_next_nonblank, 0, 0},
    {"line-prev-nonblank", "Move to the first non-blank of the line before (vi -)", cmd_line_prev_nonblank, 0,
     0},
    {"line-start", "Move to the start of the line", cmd_line_start, 0, 0},
    {"line-end", "Move to the end of the line", cmd_line_end, 0, 0},
    {"row-start", "Move to the start of the screen row; there, of the line", cmd_row_start, 0, 0},
    {"row-end", "Move to the end of the screen row; there, of the line", cmd_row_end, 0, 0},
    {"page-up", "Move one screen up", cmd_page_up, G, 0},
    {"page-down", "Move one screen down", cmd_page_down, G, 0},
    {"buffer-start", "Move to the start of the file", cmd_buffer_start, 0, 0},
    {"buffer-end", "Move to the end of the file", cmd_buffer_end, 0, 0},
    {"goto-line", "Go to a line (the count, or asks)", cmd_goto_line, 0, 0},
    {"select-char-left", "Extend the selection one character left", cmd_select_char_left, R, 0},
    {"select-char-right", "Extend the selection one character right", cmd_select_char_right, R, 0},
    {"select-char-left-in-line", "Extend the selection one character left, not past the line start",
     cmd_select_char_left_in_line, R, 0},
    {"select-char-right-in-line", "Extend the selection one character right, to the line end at most",
     cmd_select_char_right_in_line, R, 0},
    {"select-line-up", "Extend the selection one line up", cmd_select_line_up, G, 0},
    {"select-line-down", "Extend the selection one line down", cmd_select_line_down, G, 0},
    {"select-word-left", "Extend the selection one word left", cmd_select_word_left, R, 0},
    {"select-word-right", "Extend the selection one word right", cmd_select_word_right, R, 0},
    {"select-vi-word-left", "Extend the selection one word left; an empty line is a word",
     cmd_select_vi_word_left, R, 0},
    {"select-vi-word-right", "Extend the selection one word right; an empty line is a word",
     cmd_select_vi_word_right, R, 0},
    {"select-word-end", "Extend the selection to the last character of the word", cmd_select_word_end, R, 0},
    {"select-vi-bigword-left", "Extend the selection one WORD (run of non-blanks) left",
     cmd_select_vi_bigword_left, R, 0},
    {"select-vi-bigword-right", "Extend the selection one WORD (run of non-blanks) right",
     cmd_select_vi_bigword_right, R, 0},
    {"select-bigword-end", "Extend the selection to the last character of the WORD", cmd_select_bigword_end,
     R, 0},
    {"select-word-end-prev", "Extend the selection to the last character of the word before",
     cmd_select_word_end_prev, R, 0},
    {"select-bigword-end-prev", "Extend the selection to the last character of the WORD before",
     cmd_select_bigword_end_prev, R, 0},
    {"select-sentence-prev", "Extend the selection to the sentence start", cmd_select_sentence_prev, R, 0},
    {"select-sentence-next", "Extend the selection to the next sentence", cmd_select_sentence_next, R, 0},
    {"select-paragraph-prev", "Extend the selection to the paragraph start", cmd_select_paragraph_prev, R, 0},
    {"select-paragraph-next", "Extend the selection to the next paragraph", cmd_select_paragraph_next, R, 0},
    {"select-blank-line-next", "Extend the selection to the blank line after the paragraph",
     cmd_select_blank_line_next, 0, 0},
    {"select-blank-line-prev", "Extend the selection to the blank line before the paragraph",
     cmd_select_blank_line_prev, 0, 0},
    {"select-line-nonblank", "Extend the selection to the first non-blank of the line",
     cmd_select_line_nonblank, 0, 0},
    {"select-line-next-nonblank", "Extend the selection to the first non-blank of the next line",
     cmd_select_line_next_nonblank, 0, 0},
    {"select-line-prev-nonblank", "Extend the selection to the first non-blank of the line before",
     cmd_select_line_prev_nonblank, 0, 0},
    {"select-line-start", "Extend the selection to the line start", cmd_select_line_start, 0, 0},
    {"select-line-end", "Extend the selection to the line end", cmd_select_line_end, 0, 0},
    {"select-row-start", "Extend the selection to the screen row start; there, the line start",
     cmd_select_row_start, 0, 0},
    {"select-row-end", "Extend the selection to the screen row end; there, the line end", cmd_select_row_end,
     0, 0},
    {"select-page-up", "Extend the selection one screen up", cmd_select_page_up, G, 0},
    {"select-page-down", "Extend the selection one screen down", cmd_select_page_down, G, 0},
    {"select-buffer-start", "Extend the selection to the start of the file", cmd_select_buffer_start, 0, 0},
    {"select-buffer-end", "Extend the selection to the end of the file", cmd_select_buffer_end, 0, 0},
    {"select-all", "Select the whole file", cmd_select_all, 0, 0},
    {"select-swap-ends", "Go to the other end of the selection (vi visual o)", cmd_select_swap_ends, 0, 0},
    {"select-word", "Select the word at the cursor", cmd_select_word, 0, 0},
    {"select-sentence", "Select the sentence at the cursor", cmd_select_sentence, 0, 0},
    {"select-paragraph", "Select the paragraph at the cursor", cmd_select_paragraph, 0, 0},
    {"select-line", "Select the line at the cursor", cmd_select_line, 0, 0},
};

const int command_motion_count = (int)(sizeof command_motion_table / sizeof command_motion_table[0]);
