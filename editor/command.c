/* command.c: the command table, the handlers of the commands that edit, open and save files,
 * search and switch modes (motions and selection are in command-motion.c), running a command by
 * name and the command line (its prompt included).
 * Depends on editor-core.h, motion.h, view.h; no curses, no model. */
#include "command.h"
#include "editor-core.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "motion.h"

static buffer *cur(editor *ed) { return editor_buffer(ed); }

/* ---- editing ---- */

/* emacs C-Space: the selection starts here and every motion extends it, until it ends (cancel,
 * cut, copy, an edit). */
static void cmd_mark_set(editor *ed, int c, int arg)
{
    (void)c;
    buffer *b = cur(ed);
    if (!b) return;
    b->anchor = b->cursor;
    b->mark = true;
    editor_message(ed, EDITOR_MSG_INFO, "Mark set");
}

bool command_editable(editor *ed)
{
    buffer *b = cur(ed);
    if (!b) return false;
    if (b->readonly) {
        editor_message(ed, EDITOR_MSG_ERROR, "This buffer is read-only");
        return false;
    }
    return true;
}

/* Deletes the selection when there is one; true when it did. */
static bool delete_selection(editor *ed)
{
    buffer *b = cur(ed);
    size_t s, e;
    if (!buffer_selection(b, &s, &e)) return false;
    buffer_delete(b, s, e - s);
    b->cursor = s;
    b->anchor = TEXT_POS_NONE;
    return true;
}

void command_delete_range(editor *ed, size_t s, size_t e)
{
    buffer *b = cur(ed);
    if (e > s) buffer_delete(b, s, e - s);
    b->cursor = s;
    b->anchor = TEXT_POS_NONE;
}

static void cmd_insert_newline(editor *ed, int c, int arg)
{
    (void)c;
    if (command_editable(ed)) editor_replace_selection(ed, "\n", 1);
}
static void cmd_insert_tab(editor *ed, int c, int arg)
{
    (void)c;
    if (command_editable(ed)) editor_replace_selection(ed, "\t", 1);
}

/* Deletes the selection, or else the bytes between the cursor and where step goes from it. */
static void delete_step(editor *ed, size_t (*step)(const text *, size_t))
{
    if (!command_editable(ed) || delete_selection(ed)) return;
    buffer *b = cur(ed);
    size_t p = step(b->text, b->cursor);
    if (p < b->cursor)
        command_delete_range(ed, p, b->cursor);
    else
        command_delete_range(ed, b->cursor, p);
}

static void cmd_delete_char_before(editor *ed, int c, int arg)
{
    (void)c;
    delete_step(ed, view_prev_cluster);
}
static void cmd_delete_char_after(editor *ed, int c, int arg)
{
    (void)c;
    delete_step(ed, view_next_cluster);
}
static void cmd_delete_word_before(editor *ed, int c, int arg)
{
    (void)c;
    delete_step(ed, motion_word_prev);
}
static void cmd_delete_word_after(editor *ed, int c, int arg)
{
    (void)c;
    delete_step(ed, motion_word_end);
}

/* The line at pos and the count - 1 after it (fewer where the text ends first: vim's 3dd on the
 * last line but one takes two), line breaks included, as [*s, *e). */
static void lines_span(const text *t, size_t pos, int count, size_t *s, size_t *e)
{
    size_t ls;
    motion_line_range(t, pos, s, e);
    for (int i = 1; i < count && *e < text_size(t); i++) motion_line_range(t, *e, &ls, e);
}

/* Cuts the line (a count: that many lines, as one cut, vi 3dd) into the register. */
static void cmd_delete_line(editor *ed, int count, int arg)
{
    if (!command_editable(ed)) return;
    buffer *b = cur(ed);
    size_t s, e;
    lines_span(b->text, b->cursor, count, &s, &e);
    editor_copy_range(ed, s, e);
    command_delete_range(ed, s, e);
}

/* Cuts from the cursor to the end of its line into the register; at the end of a line, the
 * line break (emacs kill-line). */
static void cmd_delete_line_end(editor *ed, int c, int arg)
{
    (void)c;
    if (!command_editable(ed) || delete_selection(ed)) return;
    buffer *b = cur(ed);
    size_t e = view_line_end(b->text, b->cursor);
    if (e == b->cursor) e = view_next_cluster(b->text, b->cursor);
    if (e == b->cursor) return;
    editor_copy_range(ed, b->cursor, e);
    command_delete_range(ed, b->cursor, e);
}

/* vi C: cuts the rest of the line and enters insert mode. */
static void change_to(editor *ed, size_t (*end_of)(const text *, size_t))
{
    if (!command_editable(ed)) return;
    buffer *b = cur(ed);
    if (!delete_selection(ed)) {
        size_t e = end_of(b->text, b->cursor);
        if (e > b->cursor) editor_copy_range(ed, b->cursor, e);
        command_delete_range(ed, b->cursor, e);
    }
    editor_set_mode(ed, "insert");
}

static void cmd_change_line_end(editor *ed, int c, int arg)
{
    (void)c;
    change_to(ed, view_line_end);
}

/* vi visual c: cuts the selection into the register and enters insert mode. */
static void cmd_change_selection(editor *ed, int c, int arg)
{
    (void)c;
    if (!command_editable(ed)) return;
    buffer *b = cur(ed);
    size_t s, e;
    if (buffer_selection(b, &s, &e)) {
        editor_copy_range(ed, s, e);
        /* whole lines: their last line break stays, an empty line to type on */
        if (b->linewise && e > s && text_byte_at(b->text, e - 1) == '\n')
            e -= e - 1 > s && text_byte_at(b->text, e - 2) == '\r' ? 2 : 1;
        command_delete_range(ed, s, e);
    }
    editor_set_mode(ed, "insert");
}

/* Copies the selection, or else the line (a count: that many lines, vi 3yy). */
static void cmd_copy(editor *ed, int count, int arg)
{
    buffer *b = cur(ed);
    if (!b) return;
    size_t s, e;
    bool sel = buffer_selection(b, &s, &e);
    if (!sel) lines_span(b->text, b->cursor, count, &s, &e);
    editor_copy_range(ed, s, e);
    if (sel && b->inclusive) b->cursor = s; /* vi visual y: the cursor goes to the start */
    b->anchor = TEXT_POS_NONE;
    editor_message(ed, EDITOR_MSG_INFO, "Copied %zu bytes", e - s);
}

static void cmd_cut(editor *ed, int c, int arg)
{
    (void)c;
    if (!command_editable(ed)) return;
    buffer *b = cur(ed);
    size_t s, e;
    if (!buffer_selection(b, &s, &e)) motion_line_range(b->text, b->cursor, &s, &e);
    editor_copy_range(ed, s, e);
    command_delete_range(ed, s, e);
}

/* vi visual p over [s, e): the register (count times) replaces the selection, whose text goes to
 * the register after (vim). Characters pasted over whole lines stay a line of their own. The
 * cursor ends on the last pasted character, or on the first non-blank of pasted lines. */
static void paste_over_selection(editor *ed, size_t s, size_t e, int count)
{
    buffer *b = cur(ed);
    bool as_line = b->linewise && e > s && text_byte_at(b->text, e - 1) == '\n';
    bool lines = ed->reg[ed->reg_len - 1] == '\n';
    size_t times = count > 1 ? (size_t)count : 1;
    size_t n = times > (SIZE_MAX - 1) / ed->reg_len ? 0 : times * ed->reg_len + (as_line && !lines);
    char *old = malloc(e - s + 1), *put = n ? malloc(n) : NULL;
    if (!old || !put) {
        free(old);
        free(put);
        editor_message(ed, EDITOR_MSG_ERROR, "Out of memory");
        return;
    }
    text_read(b->text, s, e - s, old);
    for (size_t i = 0; i < times; i++) memcpy(put + i * ed->reg_len, ed->reg, ed->reg_len);
    if (as_line && !lines) put[n - 1] = '\n';
    bool ok = editor_replace_selection(ed, put, n);
    free(put);
    if (ok && e > s)
        editor_set_register(ed, old, e - s);
    else
        free(old);
    if (!ok) return;
    if (lines || as_line)
        b->cursor = motion_line_nonblank(b->text, s, 1);
    else
        b->cursor = view_prev_cluster(b->text, b->cursor);
}

/* Pastes the register count times (at least once) over the selection or at the cursor. */
static void cmd_paste(editor *ed, int count, int arg)
{
    if (!command_editable(ed)) return;
    if (!ed->reg_len) {
        editor_message(ed, EDITOR_MSG_INFO, "Nothing to paste");
        return;
    }
    buffer *b = cur(ed);
    size_t s, e;
    if (!b->inclusive || !buffer_selection(b, &s, &e)) {
        for (int i = 0; i < (count > 1 ? count : 1); i++)
            if (!editor_replace_selection(ed, ed->reg, ed->reg_len)) return;
        return;
    }
    paste_over_selection(ed, s, e, count);
}

/* vi P (count times): whole lines (a register ending in a line break) go above the cursor's
 * line, the cursor on their first non-blank; other text before the cursor, the cursor on its
 * last character. */
static void cmd_paste_before(editor *ed, int count, int arg)
{
    if (!command_editable(ed)) return;
    buffer *b = cur(ed);
    size_t s, e;
    if (buffer_selection(b, &s, &e) || !ed->reg_len) {
        cmd_paste(ed, 0, 0);
        return;
    }
    bool lines = ed->reg[ed->reg_len - 1] == '\n';
    s = lines ? view_line_start(b->text, b->cursor) : b->cursor;
    int n = count > 0 ? count : 1;
    for (int i = 0; i < n; i++) {
        b->cursor = s; /* the same bytes each time: in front of the copies before is the same */
        if (!editor_replace_selection(ed, ed->reg, ed->reg_len)) return;
    }
    b->cursor = lines ? motion_line_nonblank(b->text, s, 1) : view_prev_cluster(b->text, s + n * ed->reg_len);
}

/* vi p: whole lines (a register ending in a line break) go below the cursor's line, other
 * text after the cursor's character; the cursor ends on the start of the pasted lines or on
 * the last pasted character. */
static void cmd_paste_after(editor *ed, int c, int arg)
{
    (void)c;
    if (!command_editable(ed)) return;
    buffer *b = cur(ed);
    size_t s, e;
    if (buffer_selection(b, &s, &e) || !ed->reg_len) {
        cmd_paste(ed, 0, 0);
        return;
    }
    if (ed->reg[ed->reg_len - 1] == '\n') {
        motion_line_range(b->text, b->cursor, &s, &e);
        if (e > s && text_byte_at(b->text, e - 1) == '\n') {
            b->cursor = e;
            editor_replace_selection(ed, ed->reg, ed->reg_len);
            b->cursor = e;
            return;
        }
        /* the last line has no line break: one goes before the pasted lines instead */
        char *lines = malloc(ed->reg_len);
        if (!lines) {
            editor_message(ed, EDITOR_MSG_ERROR, "Out of memory");
            return;
        }
        lines[0] = '\n';
        memcpy(lines + 1, ed->reg, ed->reg_len - 1);
        b->cursor = e;
        editor_replace_selection(ed, lines, ed->reg_len);
        free(lines);
        b->cursor = e + 1;
        return;
    }
    if (b->cursor < view_line_end(b->text, b->cursor)) b->cursor = view_next_cluster(b->text, b->cursor);
    editor_replace_selection(ed, ed->reg, ed->reg_len);
    b->cursor = view_prev_cluster(b->text, b->cursor);
}

static void undo_redo(editor *ed, bool redo)
{
    buffer *b = cur(ed);
    if (!b) return;
    editor_event_send(ed, EDITOR_EVENT_UNDO_PRE, b); /* a running model job's text is not undone */
    /* undo: where the step began. redo: after the re-applied text, as if it had just been typed;
     * in a vi command mode at the step's start, as vim. */
    size_t pos, start;
    bool ok = redo ? text_redo_span(b->text, &start, &pos) : text_undo(b->text, &pos);
    if (!ok) {
        editor_message(ed, EDITOR_MSG_INFO, redo ? "Nothing to redo" : "Nothing to undo");
        return;
    }
    if (redo && editor_command_mode(ed)) pos = start;
    /* never inside a character, whatever the history recorded */
    b->cursor = view_cluster_start(b->text, pos);
    b->anchor = TEXT_POS_NONE;
    size_t size = text_size(b->text);
    if (b->top > size) b->top = size;
    b->lc_valid = false;
    /* replaces whatever the undone step said (a model's "press again for another") */
    editor_message(ed, EDITOR_MSG_INFO, redo ? "Redone" : "Undone");
}

/* vi .: types the keys of the last change again (editor-input.c records them); a count replaces
 * the one it was typed with. */
static void cmd_repeat_change(editor *ed, int count, int arg)
{
    if (ed->dot_replaying) return;
    if (!ed->dot_len) {
        editor_message(ed, EDITOR_MSG_INFO, "No change to repeat");
        return;
    }
    key_code keys[EDITOR_DOT_MAX + 8];
    int n = 0, i = 0;
    if (count > 0 && ed->km) {
        /* the new count goes first; the digits the keymap took as counts (2 in 2dw, 3 in d3w) up
         * to the command's match are left out */
        char num[16];
        snprintf(num, sizeof num, "%d", count);
        for (const char *p = num; *p; p++) keys[n++] = (key_code)*p;
        keymap_state st;
        keymap_state_init(ed->km, &st);
        st.mode = ed->ks.mode;
        for (; i < ed->dot_len; i++) {
            unsigned c = st.count, in = st.inner;
            int nk = st.n_keys;
            const keymap_binding *bd;
            keymap_result r = keymap_feed(ed->km, &st, ed->dot_keys[i], &bd);
            bool digit = r == KEYMAP_PREFIX && st.n_keys == nk && (st.count != c || st.inner != in);
            if (!digit) keys[n++] = ed->dot_keys[i];
            if (r != KEYMAP_PREFIX) {
                i++;
                break;
            }
        }
    }
    for (; i < ed->dot_len; i++) keys[n++] = ed->dot_keys[i];
    ed->dot_replaying = true;
    for (int k = 0; k < n; k++) editor_key(ed, keys[k]);
    ed->dot_replaying = false;
}

static void cmd_undo(editor *ed, int c, int arg)
{
    (void)c;
    undo_redo(ed, false);
}
static void cmd_redo(editor *ed, int c, int arg)
{
    (void)c;
    undo_redo(ed, true);
}

/* ---- files and buffers ---- */

static void cmd_save(editor *ed, int c, int arg)
{
    (void)c;
    editor_save_buffer(ed, false);
}

static void cmd_save_as(editor *ed, int c, int arg)
{
    (void)c;
    buffer *b = cur(ed);
    if (b && !b->is_help) editor_save_as_prompt(ed);
}

static void cmd_open(editor *ed, int c, int arg)
{
    (void)c;
    editor_open_prompt(ed);
}
static void cmd_quit(editor *ed, int c, int arg)
{
    (void)c;
    editor_request_quit(ed, false);
}

static void switch_buffer(editor *ed, int d)
{
    if (ed->n_bufs < 2) {
        editor_message(ed, EDITOR_MSG_INFO, "Only one file is open");
        return;
    }
    ed->cur = (ed->cur + d + ed->n_bufs) % ed->n_bufs;
    editor_message(ed, EDITOR_MSG_INFO, "%s", cur(ed)->name);
}

static void cmd_buffer_next(editor *ed, int c, int arg)
{
    (void)c;
    switch_buffer(ed, 1);
}
static void cmd_buffer_prev(editor *ed, int c, int arg)
{
    (void)c;
    switch_buffer(ed, -1);
}
static void cmd_buffer_close(editor *ed, int c, int arg)
{
    (void)c;
    editor_request_close(ed);
}

/* ---- search ---- */

static void cmd_find(editor *ed, int c, int arg)
{
    (void)c;
    editor_find_start(ed, false);
}
static void cmd_find_regex(editor *ed, int c, int arg)
{
    (void)c;
    editor_find_start(ed, true);
}
static void cmd_find_next(editor *ed, int c, int arg)
{
    (void)c;
    editor_find_again(ed, false);
}
static void cmd_find_prev(editor *ed, int c, int arg)
{
    (void)c;
    editor_find_again(ed, true);
}

/* vi * and #: the word at the cursor, whole, forward and backward. */
static void cmd_find_word_next(editor *ed, int c, int arg)
{
    (void)c;
    editor_find_word(ed, false);
}
static void cmd_find_word_prev(editor *ed, int c, int arg)
{
    (void)c;
    editor_find_word(ed, true);
}

static void cmd_replace(editor *ed, int c, int arg)
{
    (void)c;
    if (command_editable(ed)) editor_replace_start(ed);
}

/* ---- misc ---- */

static void cmd_cancel(editor *ed, int c, int arg)
{
    (void)c;
    buffer *b = cur(ed);
    ed->message[0] = 0;
    ed->search_highlight = false;
    editor_event_send(ed, EDITOR_EVENT_CANCEL, b); /* stops a model job */
    if (!b) return;
    if (b->is_help) {
        editor_close_buffer(ed, ed->cur);
        return;
    }
    b->anchor = TEXT_POS_NONE;
}

static void cmd_help(editor *ed, int c, int arg)
{
    (void)c;
    buffer *b = cur(ed);
    if (b && b->is_help)
        editor_close_buffer(ed, ed->cur);
    else
        editor_show_help(ed);
}

/* Enter on the command-line prompt. */
static void command_line_accept(editor *ed, const char *input, void *ctx)
{
    (void)ctx;
    char in[EDITOR_INPUT_MAX];
    snprintf(in, sizeof in, "%s", input);
    editor_prompt_end(ed);
    command_run_line(ed, in);
}

static const editor_prompt_ops command_line_prompt = {
    .kind = PROMPT_COMMAND, .accept = command_line_accept, .key = command_prompt_key};

static void cmd_command_prompt(editor *ed, int c, int arg)
{
    (void)c;
    editor_prompt_open(ed, &command_line_prompt, NULL, ": ", "");
}
static void cmd_redraw(editor *ed, int c, int arg)
{
    (void)c;
    ed->redraw_requested = true;
}
static void cmd_suspend(editor *ed, int c, int arg)
{
    (void)c;
    ed->suspend_requested = true;
}

static void cmd_toggle_wrap(editor *ed, int c, int arg)
{
    (void)c;
    ed->cfg->wrap = !ed->cfg->wrap;
    if (cur(ed)) cur(ed)->hscroll = 0;
    editor_message(ed, EDITOR_MSG_INFO, "Soft wrap %s", ed->cfg->wrap ? "on" : "off");
}

static void cmd_toggle_line_numbers(editor *ed, int c, int arg)
{
    (void)c;
    ed->cfg->line_numbers = !ed->cfg->line_numbers;
    editor_message(ed, EDITOR_MSG_INFO, "Line numbers %s", ed->cfg->line_numbers ? "on" : "off");
}

/* ---- vi modes ---- */

/* Back to normal mode; leaving a typing mode (vi insert) the cursor steps back onto the last
 * character typed, unless it is at the line start (vim). */
static void cmd_mode_normal(editor *ed, int c, int arg)
{
    (void)c;
    buffer *b = cur(ed);
    bool typing = ed->km && keymap_mode_self_insert(ed->km, ed->ks.mode);
    if (!editor_set_mode(ed, "normal") || !b) return;
    b->anchor = TEXT_POS_NONE;
    if (typing && b->cursor > view_line_start(b->text, b->cursor))
        b->cursor = view_prev_cluster(b->text, b->cursor);
}

static void cmd_mode_insert(editor *ed, int c, int arg)
{
    (void)c;
    editor_set_mode(ed, "insert");
}

static void cmd_mode_append(editor *ed, int c, int arg)
{
    (void)c;
    buffer *b = cur(ed);
    if (b && editor_set_mode(ed, "insert") && b->cursor < view_line_end(b->text, b->cursor))
        b->cursor = view_next_cluster(b->text, b->cursor);
}

static void cmd_mode_insert_line_start(editor *ed, int c, int arg)
{
    (void)c;
    buffer *b = cur(ed);
    if (!b || !editor_set_mode(ed, "insert")) return;
    size_t p = view_line_start(b->text, b->cursor);
    int ch;
    while ((ch = text_byte_at(b->text, p)) == ' ' || ch == '\t') p++;
    b->cursor = p;
}

static void cmd_mode_append_line_end(editor *ed, int c, int arg)
{
    (void)c;
    buffer *b = cur(ed);
    if (b && editor_set_mode(ed, "insert")) b->cursor = view_line_end(b->text, b->cursor);
}

static void cmd_mode_open_below(editor *ed, int c, int arg)
{
    (void)c;
    buffer *b = cur(ed);
    if (!b || !command_editable(ed) || !editor_set_mode(ed, "insert")) return;
    b->anchor = TEXT_POS_NONE;
    b->cursor = view_line_end(b->text, b->cursor);
    editor_replace_selection(ed, "\n", 1);
}

static void cmd_mode_open_above(editor *ed, int c, int arg)
{
    (void)c;
    buffer *b = cur(ed);
    if (!b || !command_editable(ed) || !editor_set_mode(ed, "insert")) return;
    b->anchor = TEXT_POS_NONE;
    size_t ls = view_line_start(b->text, b->cursor);
    b->cursor = ls;
    editor_replace_selection(ed, "\n", 1);
    b->cursor = ls;
}

/* vi v and V: characterwise or linewise visual mode from the cursor; in visual mode the other
 * kind switches the selection over and the same kind goes back to normal mode. */
static void visual_start(editor *ed, bool linewise)
{
    buffer *b = cur(ed);
    if (!b) return;
    int vm = ed->km ? keymap_mode_find(ed->km, "visual") : -1;
    if (vm >= 0 && ed->ks.mode == vm && b->anchor != TEXT_POS_NONE) {
        if (b->linewise == linewise) {
            cmd_mode_normal(ed, 0, 0);
            return;
        }
    } else {
        if (!editor_set_mode(ed, "visual")) return;
        b->anchor = b->cursor;
    }
    b->linewise = linewise && b->inclusive;
}

static void cmd_mode_visual(editor *ed, int c, int arg)
{
    (void)c;
    visual_start(ed, false);
}
static void cmd_mode_visual_line(editor *ed, int c, int arg)
{
    (void)c;
    visual_start(ed, true);
}

/* ---- the model ---- */

/* A model command: handed to the model layer with its MODEL_CMD_* argument. */
static void cmd_model(editor *ed, int count, int arg)
{
    if (ed->model_fn)
        ed->model_fn(ed, (editor_model_cmd)arg, count, ed->model_ctx);
    else
        editor_message(ed, EDITOR_MSG_ERROR, "No model loaded");
}

/* ---- the table ---- */

#define R COMMAND_REPEAT
#define G (COMMAND_REPEAT | COMMAND_KEEP_GOAL)
#define M (COMMAND_MODEL | COMMAND_KEEP_JOB)

static const command commands[] = {
    {"insert-newline", "Insert a line break", cmd_insert_newline, R, 0},
    {"insert-tab", "Insert a tab", cmd_insert_tab, R, 0},
    {"delete-char-before", "Delete the character before the cursor (or the selection)",
     cmd_delete_char_before, R, 0},
    {"delete-char-after", "Delete the character at the cursor (or the selection)", cmd_delete_char_after, R,
     0},
    {"delete-word-before", "Delete to the start of the word", cmd_delete_word_before, R, 0},
    {"delete-word-after", "Delete to the end of the word", cmd_delete_word_after, R, 0},
    {"delete-line", "Cut the line (a count: that many lines) into the register", cmd_delete_line, 0, 0},
    {"delete-line-end", "Cut to the end of the line (at its end, the line break)", cmd_delete_line_end, R, 0},
    {"mode-change-line-end", "Cut to the end of the line and insert (vi C)", cmd_change_line_end, 0, 0},
    {"mode-change-selection", "Cut the selection and insert (vi visual c)", cmd_change_selection, 0, 0},
    {"cut", "Cut the selection (or the line) into the register", cmd_cut, 0, 0},
    {"copy", "Copy the selection (or the line; a count: lines) into the register and clipboard", cmd_copy, 0,
     0},
    {"paste", "Paste the register (a count: that many times)", cmd_paste, 0, 0},
    {"mark-set", "Set the mark: motions extend the selection from here (emacs C-Space)", cmd_mark_set, 0, 0},
    {"paste-after", "Paste after the cursor; whole lines below the line (vi p)", cmd_paste_after, R, 0},
    {"paste-before", "Paste before the cursor; whole lines above the line (vi P)", cmd_paste_before, 0, 0},
    {"undo", "Undo the last step", cmd_undo, R | COMMAND_HISTORY, 0},
    {"repeat-change", "Repeat the last change made in normal mode (vi .; a count replaces its count)",
     cmd_repeat_change, COMMAND_HISTORY, 0},
    {"redo", "Redo the step undone last", cmd_redo, R | COMMAND_HISTORY, 0},
    {"save", "Save the file", cmd_save, 0, 0},
    {"save-as", "Save under another name", cmd_save_as, 0, 0},
    {"open", "Open a file", cmd_open, 0, 0},
    {"quit", "Quit (asks when there are unsaved changes)", cmd_quit, 0, 0},
    {"buffer-next", "Switch to the next open file", cmd_buffer_next, 0, 0},
    {"buffer-prev", "Switch to the previous open file", cmd_buffer_prev, 0, 0},
    {"buffer-close", "Close the file (asks when there are unsaved changes)", cmd_buffer_close, 0, 0},
    {"find", "Find text as you type", cmd_find, 0, 0},
    {"find-next", "Find the next match", cmd_find_next, R, 0},
    {"find-prev", "Find the previous match", cmd_find_prev, R, 0},
    {"find-regex", "Find a regular expression (POSIX extended)", cmd_find_regex, 0, 0},
    {"find-word-next", "Find the next match of the word at the cursor, as a whole word (vi *)",
     cmd_find_word_next, R, 0},
    {"find-word-prev", "Find the match before of the word at the cursor, as a whole word (vi #)",
     cmd_find_word_prev, R, 0},
    {"replace", "Replace a regular expression, asking at each match", cmd_replace, 0, 0},
    {"cancel", "Cancel: clear the selection and the message, close help", cmd_cancel, COMMAND_KEEP_JOB, 0},
    {"help", "Show the keys of the active keymap", cmd_help, 0, 0},
    {"command-prompt", "Run a command by name (or w, q, wq, q!, set NAME VALUE, LINE)", cmd_command_prompt, 0,
     0},
    {"redraw", "Redraw the screen", cmd_redraw, 0, 0},
    {"suspend", "Suspend the editor (the shell's fg resumes it)", cmd_suspend, 0, 0},
    {"toggle-wrap", "Soft wrap on or off", cmd_toggle_wrap, 0, 0},
    {"toggle-line-numbers", "Line numbers on or off", cmd_toggle_line_numbers, 0, 0},
    {"mode-normal", "Normal mode", cmd_mode_normal, 0, 0},
    {"mode-insert", "Insert mode before the cursor", cmd_mode_insert, 0, 0},
    {"mode-append", "Insert mode after the cursor", cmd_mode_append, 0, 0},
    {"mode-insert-line-start", "Insert mode at the start of the line", cmd_mode_insert_line_start, 0, 0},
    {"mode-append-line-end", "Insert mode at the end of the line", cmd_mode_append_line_end, 0, 0},
    {"mode-open-below", "Open a line below and insert", cmd_mode_open_below, 0, 0},
    {"mode-open-above", "Open a line above and insert", cmd_mode_open_above, 0, 0},
    {"mode-visual", "Visual mode: motions extend the selection (in it: back to normal mode)", cmd_mode_visual,
     0, 0},
    {"mode-visual-line", "Visual mode by whole lines (in it: back to normal mode)", cmd_mode_visual_line, 0,
     0},
    {"model-infill", "Model: rewrite the selection from both sides (again: another sample)", cmd_model, M,
     MODEL_CMD_INFILL},
    {"model-continue", "Model: continue with the next block", cmd_model, M, MODEL_CMD_CONTINUE},
    {"model-heatmap", "Model: confidence heatmap on or off", cmd_model, M, MODEL_CMD_HEATMAP},
    {"model-revise", "Model: revise the least confident tokens", cmd_model, M, MODEL_CMD_REVISE},
    {"model-inspect", "Model: alternatives for the token at the cursor", cmd_model, M, MODEL_CMD_INSPECT},
    {"model-grow", "Model: infill one token longer", cmd_model, M, MODEL_CMD_GROW},
    {"model-shrink", "Model: infill one token shorter", cmd_model, M, MODEL_CMD_SHRINK},
    {"model-sample-next", "Model: show the next kept sample of the last infill", cmd_model, M,
     MODEL_CMD_SAMPLE_NEXT},
    {"model-sample-prev", "Model: show the previous kept sample of the last infill", cmd_model, M,
     MODEL_CMD_SAMPLE_PREV},
    {"model-fill", "Model: fill every ___ blank in the selection or text at once (again: another sample)",
     cmd_model, M, MODEL_CMD_FILL},
    {"model-mark-blank", "Model: mark the selection as a blank for the next fill (again: unmark)", cmd_model,
     M, MODEL_CMD_MARK_BLANK},
};

#undef R
#undef G
#undef M

static const int commands_n = (int)(sizeof commands / sizeof commands[0]);

int command_count(void) { return command_motion_count + command_vi_count + commands_n; }

/* The motion and selection commands come first, then the vi operators, then this file's. */
const command *command_at(int i)
{
    if (i < 0 || i >= command_count()) return NULL;
    if (i < command_motion_count) return &command_motion_table[i];
    i -= command_motion_count;
    return i < command_vi_count ? &command_vi_table[i] : &commands[i - command_vi_count];
}

bool command_modal_only(const command *c)
{
    if (c >= command_vi_table && c < command_vi_table + command_vi_count) return true;
    return strncmp(c->name, "vi-", 3) == 0 || strstr(c->name, "-vi-") || strncmp(c->name, "mode-", 5) == 0;
}

const command *command_find(const char *name)
{
    for (int i = 0; i < command_count(); i++)
        if (strcmp(command_at(i)->name, name) == 0) return command_at(i);
    return NULL;
}

bool command_keeps_job(const char *name)
{
    const command *c = command_find(name);
    return c && (c->flags & COMMAND_KEEP_JOB);
}

bool command_own_step(const command *c)
{
    return c && (c->flags & (COMMAND_MODEL | COMMAND_HISTORY));
}

bool command_known(const char *name, void *ctx)
{
    (void)ctx;
    return strcmp(name, "none") == 0 || command_find(name) != NULL;
}

/* ---- running commands ---- */

bool command_run(editor *ed, const char *name, int count)
{
    const command *c = command_find(name);
    if (!c) {
        editor_message(ed, EDITOR_MSG_ERROR, "No command %s", name);
        return false;
    }
    buffer *b = editor_buffer(ed);
    /* vi insert mode: the commands typed there (Backspace, Enter, ...) join the insert's undo
     * step; undo, redo and the model's commands keep steps of their own */
    bool own_step = command_own_step(c);
    uint64_t rev = b ? text_revision(b->text) : 0;
    size_t pos = b ? b->cursor : 0;
    if (b) {
        if (own_step || !editor_insert_session(ed)) text_snapshot(b->text);
        b->typing = false;
    }
    ed->keep_top = false;
    if (!(c->flags & COMMAND_MODEL) && ed->command_hook &&
        ed->command_hook(ed, c->name, ed->command_hook_ctx)) {
        /* consumed by the hook */
    } else {
        int n = (c->flags & COMMAND_REPEAT) && count > 1 ? count : 1;
        for (int i = 0; i < n; i++) c->fn(ed, c->flags & COMMAND_REPEAT ? 0 : count, c->arg);
    }
    buffer *before = b;
    b = editor_buffer(ed);
    if (b) {
        /* the step stays open while vi insert mode goes on (also when a change command such as
         * c,w or o entered it), unless the command only moved the cursor (or to another buffer):
         * in vim an arrow key in insert mode starts a new undo step */
        bool moved = b != before || (text_revision(b->text) == rev && b->cursor != pos);
        if (own_step || moved || !editor_insert_session(ed)) text_snapshot(b->text);
        if (!(c->flags & COMMAND_KEEP_GOAL)) b->goal_col = -1;
        /* a command that used the selection ends visual mode */
        int vm = ed->km ? keymap_mode_find(ed->km, "visual") : -1;
        if (vm >= 0 && ed->ks.mode == vm && b->anchor == TEXT_POS_NONE &&
            strcmp(c->name, "mode-visual") != 0 && strcmp(c->name, "mode-visual-line") != 0) {
            int nm = keymap_mode_find(ed->km, "normal");
            if (nm >= 0) ed->ks.mode = nm;
            editor_sync_selection_kind(ed);
        }
    }
    return true;
}

void command_char(editor *ed, key_code key)
{
    const char *name = ed->char_wait;
    ed->char_wait = NULL;
    if (!name || !key_is_printable(key)) return;
    ed->char_cp = key & KEYC_BASE_MASK;
    command_run(ed, name, ed->char_wait_count);
    ed->char_cp = 0;
}

/* Runs a command-prompt line: a command name, a line number, w q wq x q!, e FILE, set NAME VALUE. */
void command_run_line(editor *ed, const char *line)
{
    while (*line == ' ') line++;
    char word[64];
    size_t n = strcspn(line, " ");
    if (n == 0) return;
    if (n >= sizeof word) n = sizeof word - 1;
    memcpy(word, line, n);
    word[n] = 0;
    const char *arg = line + strcspn(line, " ");
    while (*arg == ' ') arg++;
    char *end;
    long num = strtol(word, &end, 10);
    if (*end == 0 && num > 0) {
        editor_goto_line(ed, (size_t)num - 1);
        return;
    }
    if (!strcmp(word, "w")) {
        editor_save_buffer(ed, false);
        return;
    }
    if (!strcmp(word, "q")) {
        editor_request_quit(ed, false);
        return;
    }
    if (!strcmp(word, "q!")) {
        editor_request_quit(ed, true);
        return;
    }
    if (!strcmp(word, "wq") || !strcmp(word, "x")) {
        if (editor_save_current(ed, false)) editor_request_quit(ed, false);
        return;
    }
    if (!strcmp(word, "e") && *arg) {
        editor_open(ed, arg);
        return;
    }
    if (!strcmp(word, "set")) {
        char name[64];
        size_t k = strcspn(arg, " =");
        if (k == 0 || k >= sizeof name) {
            editor_message(ed, EDITOR_MSG_ERROR, "Usage: set NAME VALUE");
            return;
        }
        memcpy(name, arg, k);
        name[k] = 0;
        const char *val = arg + k;
        while (*val == ' ' || *val == '=') val++;
        char err[256];
        if (config_set(ed->cfg, name, val, err, sizeof err) != CONFIG_OK) {
            editor_message(ed, EDITOR_MSG_ERROR, "%s", err);
            return;
        }
        editor_apply_config(ed);
        editor_message(ed, EDITOR_MSG_INFO, "%s = %s", name, val);
        return;
    }
    if (command_find(word)) {
        command_run(ed, word, 0);
        return;
    }
    editor_message(ed, EDITOR_MSG_ERROR, "Unknown command: %s", word);
}
