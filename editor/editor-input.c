/* editor-input.c: input from the terminal layer: keys (through the keymap to commands, or typed
 * text), bracketed paste and the mouse; the register and the system clipboard. No curses;
 * the model is told of keys and edits through editor events. */
#include "editor-core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "command.h"
#include "utf8.h"

bool editor_replace_selection(editor *ed, const char *bytes, size_t len)
{
    buffer *b = editor_buffer(ed);
    if (!b || b->readonly) return false;
    size_t s, e;
    if (buffer_selection(b, &s, &e)) {
        buffer_delete(b, s, e - s);
        b->cursor = s;
    }
    b->anchor = TEXT_POS_NONE;
    size_t pos = b->cursor;
    if (!buffer_insert(b, pos, bytes, len, NULL)) {
        editor_message(ed, EDITOR_MSG_ERROR, "Out of memory");
        return false;
    }
    b->cursor = pos + len;
    return true;
}

void editor_copy_range(editor *ed, size_t start, size_t end)
{
    buffer *b = editor_buffer(ed);
    if (!b || end < start) return;
    char *r = malloc(end - start + 1);
    if (!r) {
        editor_message(ed, EDITOR_MSG_ERROR, "Out of memory");
        return;
    }
    text_read(b->text, start, end - start, r);
    editor_set_register(ed, r, end - start);
}

void editor_set_register(editor *ed, char *bytes, size_t len)
{
    free(ed->reg);
    ed->reg = bytes;
    ed->reg_len = len;
    if (ed->clipboard_fn) ed->clipboard_fn(bytes, len, ed->clipboard_ctx);
}

static bool is_blank_cp(uint32_t c) { return c == ' ' || c == '\t'; }

/* Inserts one typed character: a run of typed words is one undo step per word; in vi insert mode
 * the whole insert is one step, ended when a command mode comes back (command_run). */
static void editor_type(editor *ed, uint32_t cp)
{
    buffer *b = editor_buffer(ed);
    if (!b) return;
    if (b->readonly) {
        editor_message(ed, EDITOR_MSG_ERROR, "This buffer is read-only");
        return;
    }
    char u[UTF8_MAX];
    size_t n = utf8_encode(cp, u);
    bool blank = is_blank_cp(cp);
    size_t s, e;
    bool sel = buffer_selection(b, &s, &e);
    if (!editor_insert_session(ed) && (!b->typing || sel || (b->typed_blank && !blank)))
        text_snapshot(b->text);
    editor_replace_selection(ed, u, n);
    b->typing = true;
    b->typed_blank = blank;
    b->goal_col = -1;
}

static void editor_key_dispatch(editor *ed, key_code key);

/* In a command mode of a modal keymap (vi normal: no self-insert while another mode has it) the
 * cursor sits on a character, as in vi: never after the last one of a non-empty line. */
void editor_clamp_cursor(editor *ed)
{
    buffer *b = editor_buffer(ed);
    if (!b || ed->prompt != PROMPT_NONE || b->anchor != TEXT_POS_NONE || !editor_command_mode(ed)) return;
    size_t end = view_line_end(b->text, b->cursor);
    if (b->cursor >= end && end > view_line_start(b->text, b->cursor))
        b->cursor = view_prev_cluster(b->text, end);
}

/* vi .: true in a mode whose changes are recorded (a command mode that is not visual). */
static bool dot_mode(const editor *ed)
{
    return editor_command_mode(ed) && !keymap_mode_inclusive(ed->km, ed->ks.mode);
}

/* True when no keys, count or character are pending: the next key starts a command. */
static bool dot_idle(const editor *ed)
{
    return ed->ks.n_keys == 0 && !ed->char_wait && (ed->ks.count == 0 || ed->ks.matched);
}

/* The change recorded is whole: . repeats it from now on (nothing, when it cannot be typed again). */
static void dot_save(editor *ed)
{
    if (ed->dot_n > 0) memcpy(ed->dot_keys, ed->dot_seq, (size_t)ed->dot_n * sizeof(key_code));
    ed->dot_len = ed->dot_n > 0 ? ed->dot_n : 0;
    ed->dot_insert = false;
}

/* Records the keys of vi changes for . : the keys of a command typed in normal mode (count,
 * keys, character) are kept when the command changed the text, and when it entered a typing
 * mode (c, i, o, ...) together with every key typed there up to the return to normal mode. */
static void dot_key(editor *ed, key_code key)
{
    buffer *b = editor_buffer(ed);
    bool rec = ed->prompt == PROMPT_NONE && ed->km && (ed->dot_insert || dot_mode(ed));
    if (!rec) {
        editor_key_dispatch(ed, key);
        return;
    }
    if (!ed->dot_insert && dot_idle(ed)) ed->dot_n = 0; /* a new command starts */
    if (ed->dot_n >= 0) {
        if (ed->dot_n < EDITOR_DOT_MAX)
            ed->dot_seq[ed->dot_n++] = key;
        else
            ed->dot_n = -1;
    }
    uint64_t rev = b ? text_revision(b->text) : 0;
    ed->dot_skip = false;
    editor_key_dispatch(ed, key);
    if (ed->dot_skip || ed->prompt != PROMPT_NONE) {
        ed->dot_insert = false;
        return;
    }
    if (ed->dot_insert) {
        if (dot_mode(ed)) dot_save(ed); /* back in normal mode: the change is whole */
        return;
    }
    if (!dot_mode(ed) && keymap_mode_self_insert(ed->km, ed->ks.mode))
        ed->dot_insert = true;
    else if (dot_mode(ed) && dot_idle(ed) && b && b == editor_buffer(ed) && text_revision(b->text) != rev)
        dot_save(ed);
}

void editor_key(editor *ed, key_code key)
{
    editor_event_send(ed, EDITOR_EVENT_EDIT_PRE, NULL); /* a job's text is shown again on the next frame */
    ed->message_queueing = false;
    uint64_t serial = ed->message_serial;
    if (ed->dot_replaying)
        editor_key_dispatch(ed, key);
    else
        dot_key(ed, key);
    editor_clamp_cursor(ed);
    /* a waiting message comes next, unless this key said something itself */
    if (ed->n_msg_queue > 0 && ed->prompt == PROMPT_NONE && ed->message_serial == serial)
        editor_message_next(ed);
}

static void editor_key_dispatch(editor *ed, key_code key)
{
    if (ed->prompt != PROMPT_NONE) {
        editor_prompt_key(ed, key);
        editor_scroll(ed);
        return;
    }
    if (!ed->km) return;
    if (ed->char_wait) { /* vi f, t, r: this key is their character */
        command_char(ed, key);
        if (!ed->keep_top) editor_scroll(ed);
        ed->keep_top = false;
        return;
    }
    const keymap_binding *bd = NULL;
    keymap_result r = keymap_feed(ed->km, &ed->ks, key, &bd);
    switch (r) {
    case KEYMAP_MATCH:
        /* undo, redo, . and the model's commands are no change for . to repeat */
        if (command_own_step(command_find(bd->command))) ed->dot_skip = true;
        if (!command_keeps_job(bd->command))
            editor_event_send(ed, EDITOR_EVENT_KEY, NULL); /* any other key ends a continuation */
        command_run(ed, bd->command, (int)ed->ks.count);
        if (ed->char_wait) { /* the status line shows the keys until the character comes */
            char keys[48];
            keymap_format_keys(bd->keys, bd->n_keys, keys, sizeof keys);
            if (ed->ks.count)
                snprintf(ed->char_wait_keys, sizeof ed->char_wait_keys, "%u %s", ed->ks.count, keys);
            else
                snprintf(ed->char_wait_keys, sizeof ed->char_wait_keys, "%s", keys);
        }
        break;
    case KEYMAP_INSERT:
        editor_event_send(ed, EDITOR_EVENT_KEY, NULL);
        editor_type(ed, key & KEYC_BASE_MASK);
        break;
    case KEYMAP_PREFIX: break;
    case KEYMAP_NONE: {
        char name[KEY_NAME_MAX];
        editor_message(ed, EDITOR_MSG_ERROR, "%s is not bound (C-g: help)",
                       key_format(key, name, sizeof name));
        break;
    }
    }
    if (!ed->keep_top) editor_scroll(ed);
    ed->keep_top = false;
}

void editor_paste(editor *ed, const char *bytes, size_t len)
{
    editor_event_send(ed, EDITOR_EVENT_EDIT_PRE, NULL);
    ed->char_wait = NULL; /* a paste is no character for a waiting f, t or r */
    if (ed->dot_insert) ed->dot_n = -1; /* nor keys that . could type again */
    if (ed->prompt != PROMPT_NONE) {
        editor_prompt_paste(ed, bytes, len);
        editor_scroll(ed);
        return;
    }
    buffer *b = editor_buffer(ed);
    if (!b || b->readonly || len == 0) return;
    bool joins = editor_insert_session(ed); /* a paste in vi insert mode is part of the insert */
    if (!joins) text_snapshot(b->text);
    b->typing = false;
    editor_replace_selection(ed, bytes, len);
    if (!joins) text_snapshot(b->text);
    editor_scroll(ed);
}

/* ---- mouse ---- */

/* Position shown at a screen cell of the text area (row from 0), or TEXT_POS_NONE. */
static size_t editor_pos_at(editor *ed, int srow, int scol)
{
    buffer *b = editor_buffer(ed);
    if (!b || srow < 0) return TEXT_POS_NONE;
    view_opts o = editor_view_opts(ed);
    view_row *row = editor_scratch_row(ed, o.width);
    size_t p = b->top;
    int rows = editor_text_rows(ed);
    if (srow >= rows) srow = rows - 1;
    for (int r = 0;; r++) {
        size_t next = view_row_layout(b->text, p, &o, row);
        if (r == srow || row->last) break;
        p = next;
    }
    int col = scol - editor_gutter(ed);
    return view_row_pos(row, col < 0 ? 0 : col);
}

void editor_mouse(editor *ed, editor_mouse_kind kind, int row, int col)
{
    buffer *b = editor_buffer(ed);
    if (!b || ed->prompt != PROMPT_NONE) return;
    view_opts o = editor_view_opts(ed);
    switch (kind) {
    case EDITOR_MOUSE_PRESS: {
        size_t p = editor_pos_at(ed, row, col);
        if (p == TEXT_POS_NONE) return;
        text_snapshot(b->text);
        b->typing = false;
        b->cursor = p;
        b->anchor = TEXT_POS_NONE;
        b->goal_col = -1;
        ed->dragging = true;
        ed->drag_origin = p;
        break;
    }
    case EDITOR_MOUSE_DRAG: {
        if (!ed->dragging) return;
        if (row < 0 && b->top > 0) b->top = view_row_prev(b->text, b->top, &o);
        size_t p = editor_pos_at(ed, row < 0 ? 0 : row, col);
        if (p == TEXT_POS_NONE) return;
        b->anchor = ed->drag_origin;
        b->cursor = p;
        break;
    }
    case EDITOR_MOUSE_RELEASE: ed->dragging = false; return;
    case EDITOR_MOUSE_WHEEL_UP:
    case EDITOR_MOUSE_WHEEL_DOWN: {
        view_row *r = editor_scratch_row(ed, o.width);
        for (int i = 0; i < 3; i++) {
            if (kind == EDITOR_MOUSE_WHEEL_UP)
                b->top = view_row_prev(b->text, b->top, &o);
            else {
                size_t next = view_row_layout(b->text, b->top, &o, r);
                if (r->last) break;
                b->top = next;
            }
        }
        /* keep the cursor on the screen */
        size_t first = b->top, p = b->top, last_pos = b->top;
        int rows = editor_text_rows(ed);
        for (int i = 0; i < rows; i++) {
            size_t next = view_row_layout(b->text, p, &o, r);
            last_pos = r->start;
            if (r->last) break;
            p = next;
        }
        if (b->anchor == TEXT_POS_NONE) {
            if (b->cursor < first)
                b->cursor = first;
            else if (b->cursor > p && !r->last)
                b->cursor = last_pos;
        }
        return;
    }
    }
    editor_clamp_cursor(ed);
    editor_scroll(ed);
}
