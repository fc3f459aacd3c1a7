/* editor.c: the editor's lifetime and setup (keymap, config, size), the buffer list, the model
 * hooks, geometry and scrolling (see editor.h). The other parts live in buffer.c and editor-*.c;
 * never includes curses: the terminal layer feeds keys in and draws the state out. */
#include "editor-core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lifetime and setup ---- */

editor *editor_new(void)
{
    editor *ed = calloc(1, sizeof *ed);
    if (!ed) return NULL;
    ed->cfg = config_new();
    if (!ed->cfg) {
        free(ed);
        return NULL;
    }
    ed->rows = 24;
    ed->cols = 80;
    return ed;
}

void editor_free(editor *ed)
{
    if (!ed) return;
    editor_recovery_wait(ed);
    for (int i = 0; i < ed->n_bufs; i++) buffer_free(ed->bufs[i]);
    free(ed->bufs);
    keymap_free(ed->km);
    config_free(ed->cfg);
    free(ed->reg);
    free(ed->save_path);
    free(ed->replace_with);
    if (ed->search_valid) search_release(&ed->search);
    view_row_release(&ed->scratch);
    free(ed);
}

void editor_set_keymap(editor *ed, keymap *km, const char *name)
{
    keymap_free(ed->km);
    ed->km = km;
    snprintf(ed->keymap_name, sizeof ed->keymap_name, "%s", name ? name : "");
    keymap_state_init(km, &ed->ks);
    editor_sync_selection_kind(ed);
}

void editor_apply_config(editor *ed)
{
    if (ed->cfg->tab_width < 1) ed->cfg->tab_width = 8;
}

void editor_resize(editor *ed, int rows, int cols)
{
    ed->rows = rows < 3 ? 3 : rows;
    ed->cols = cols < 4 ? 4 : cols;
    editor_scroll(ed);
}

buffer *editor_buffer(editor *ed) { return ed->n_bufs > 0 ? ed->bufs[ed->cur] : NULL; }

bool editor_add_buffer(editor *ed, buffer *b)
{
    buffer **nb = realloc(ed->bufs, (size_t)(ed->n_bufs + 1) * sizeof *nb);
    if (!nb) return false;
    ed->bufs = nb;
    ed->bufs[ed->n_bufs] = b;
    ed->cur = ed->n_bufs++;
    editor_sync_selection_kind(ed);
    return true;
}

void editor_set_model_hook(editor *ed, editor_model_fn fn, editor_event_fn event_fn, void *ctx)
{
    ed->model_fn = fn;
    ed->event_fn = event_fn;
    ed->model_ctx = ctx;
}

void editor_set_model_status(editor *ed, const char *status)
{
    snprintf(ed->model_status, sizeof ed->model_status, "%s", status ? status : "");
    for (char *p = ed->model_status; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
}

bool editor_set_mode(editor *ed, const char *mode)
{
    int m = ed->km ? keymap_mode_find(ed->km, mode) : -1;
    if (m < 0) {
        editor_message(ed, EDITOR_MSG_ERROR, "The keymap has no %s mode", mode);
        return false;
    }
    ed->ks.mode = m;
    keymap_state_reset(&ed->ks);
    editor_sync_selection_kind(ed);
    return true;
}

void editor_sync_selection_kind(editor *ed)
{
    bool inclusive = ed->km && keymap_mode_inclusive(ed->km, ed->ks.mode);
    for (int i = 0; i < ed->n_bufs; i++) {
        ed->bufs[i]->inclusive = inclusive;
        if (!inclusive) ed->bufs[i]->linewise = false;
    }
}

bool editor_command_mode(const editor *ed)
{
    if (!ed->km || keymap_mode_self_insert(ed->km, ed->ks.mode)) return false;
    for (int m = 0; m < keymap_n_modes(ed->km); m++)
        if (keymap_mode_self_insert(ed->km, m)) return true;
    return false;
}

bool editor_insert_session(const editor *ed)
{
    if (!ed->km || !keymap_mode_self_insert(ed->km, ed->ks.mode)) return false;
    for (int m = 0; m < keymap_n_modes(ed->km); m++)
        if (!keymap_mode_self_insert(ed->km, m)) return true;
    return false;
}

view_row *editor_scratch_row(editor *ed, int width)
{
    if (width < 1) width = 1;
    if (ed->scratch_width != width) {
        view_row_release(&ed->scratch);
        if (!view_row_init(&ed->scratch, width)) {
            ed->scratch_width = 0;
            view_row_init(&ed->scratch, 1);
            return &ed->scratch;
        }
        ed->scratch_width = width;
    }
    return &ed->scratch;
}

/* ---- geometry ---- */

int editor_text_rows(const editor *ed) { return ed->rows - 2 > 1 ? ed->rows - 2 : 1; }

int editor_gutter(editor *ed)
{
    buffer *b = editor_buffer(ed);
    if (!ed->cfg->line_numbers || !b) return 0;
    size_t last = buffer_line_of(b, b->top) + (size_t)editor_text_rows(ed) + 1;
    int digits = 1;
    while (last >= 10) {
        last /= 10;
        digits++;
    }
    if (digits < 3) digits = 3;
    return digits + 1 < ed->cols / 2 ? digits + 1 : 0;
}

view_opts editor_view_opts(editor *ed)
{
    buffer *b = editor_buffer(ed);
    int w = ed->cols - editor_gutter(ed);
    return (view_opts){.width = w < 1 ? 1 : w,
                       .wrap = ed->cfg->wrap,
                       .tab_width = ed->cfg->tab_width > 0 ? ed->cfg->tab_width : 8,
                       .hscroll = b && !ed->cfg->wrap ? b->hscroll : 0};
}

void editor_scroll(editor *ed)
{
    buffer *b = editor_buffer(ed);
    if (!b) return;
    size_t size = text_size(b->text);
    if (b->cursor > size) b->cursor = size;
    if (b->anchor != TEXT_POS_NONE && b->anchor > size) b->anchor = size;
    view_opts o = editor_view_opts(ed);
    if (!o.wrap) {
        long col = view_col_from(b->text, view_line_start(b->text, b->cursor), b->cursor, &o);
        if (col < b->hscroll)
            b->hscroll = col;
        else if (col >= b->hscroll + o.width)
            b->hscroll = col - o.width + 1;
        o.hscroll = b->hscroll;
    }
    int rows = editor_text_rows(ed);
    b->top = view_row_start(b->text, b->top, &o);
    bool center = ed->center_next;
    ed->center_next = false;
    if (!center && b->cursor >= b->top) {
        view_row *row = editor_scratch_row(ed, o.width);
        size_t p = b->top;
        for (int r = 0; r < rows; r++) {
            size_t next = view_row_layout(b->text, p, &o, row);
            if (view_row_has(row, b->cursor, size)) return;
            if (row->last) break;
            p = next;
        }
    }
    /* the cursor is off screen: put its row at the top edge, bottom edge or centre */
    size_t crs = view_row_start(b->text, b->cursor, &o);
    int back = center ? rows / 2 : (b->cursor < b->top ? 0 : rows - 1);
    size_t top = crs;
    for (int i = 0; i < back && top > 0; i++) top = view_row_prev(b->text, top, &o);
    b->top = top;
}

void editor_goto_line(editor *ed, size_t line)
{
    buffer *b = editor_buffer(ed);
    if (!b) return;
    b->cursor = view_line_pos(b->text, line);
    b->anchor = TEXT_POS_NONE;
    ed->center_next = true;
}
void editor_event_send(editor *ed, editor_event ev, buffer *b)
{
    if (!b) b = editor_buffer(ed);
    if (b && ed->event_fn) ed->event_fn(ed, ev, b, ed->model_ctx);
}

/* ---- OSC 52 ---- */

size_t editor_base64(const char *bytes, size_t len, char *out, size_t size)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t need = (len + 2) / 3 * 4;
    if (need + 1 > size) return 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)bytes[i] << 16;
        if (i + 1 < len) v |= (uint32_t)(unsigned char)bytes[i + 1] << 8;
        if (i + 2 < len) v |= (unsigned char)bytes[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = 0;
    return o;
}

/* ---- state for the terminal layer, main and the model layer ---- */

config *editor_config(editor *ed) { return ed->cfg; }
int editor_cols(const editor *ed) { return ed->cols; }
int editor_n_buffers(const editor *ed) { return ed->n_bufs; }

void editor_select_buffer(editor *ed, int index)
{
    if (index >= 0 && index < ed->n_bufs) ed->cur = index;
}

editor_prompt editor_prompt_kind(const editor *ed) { return ed->prompt; }
const char *editor_prompt_label(const editor *ed) { return ed->prompt_label; }
const char *editor_prompt_input(const editor *ed) { return ed->input; }
const char *editor_prompt_hint(const editor *ed) { return ed->prompt_hint; }

const char *editor_message_text(const editor *ed, bool *error, int *n_waiting)
{
    if (error) *error = ed->message_error;
    if (n_waiting) *n_waiting = ed->n_msg_queue;
    return ed->message;
}

void editor_set_message_queueing(editor *ed, bool on) { ed->message_queueing = on; }
const char *editor_model_status(const editor *ed) { return ed->model_status; }
bool editor_model_legend(const editor *ed) { return ed->model_legend; }
void editor_set_model_legend(editor *ed, bool on) { ed->model_legend = on; }
void *editor_model_hook_ctx(const editor *ed) { return ed->model_ctx; }

void editor_set_style_hook(editor *ed, editor_style_fn fn, void *ctx)
{
    ed->style_fn = fn;
    ed->style_ctx = ctx;
}

editor_style_fn editor_style_hook(const editor *ed, void **ctx)
{
    if (ctx) *ctx = ed->style_ctx;
    return ed->style_fn;
}

search *editor_search_shown(editor *ed)
{
    return ed->search_highlight && ed->search_valid && ed->search.len > 0 ? &ed->search : NULL;
}

const keymap *editor_keymap(const editor *ed) { return ed->km; }
const keymap_state *editor_key_state(const editor *ed) { return &ed->ks; }

char *editor_pending_describe(const editor *ed, char *buf, size_t size)
{
    if (!buf || size == 0) return buf;
    if (ed->char_wait)
        snprintf(buf, size, "%s", ed->char_wait_keys);
    else
        keymap_state_describe(&ed->ks, buf, size);
    return buf;
}

bool editor_key_bound(const editor *ed, key_code key)
{
    if (!ed->km || ed->prompt != PROMPT_NONE || ed->ks.n_keys > 0) return true;
    keymap_state st;
    keymap_state_init(ed->km, &st);
    st.mode = ed->ks.mode;
    const keymap_binding *b = NULL;
    return keymap_feed(ed->km, &st, key, &b) != KEYMAP_NONE;
}

void editor_set_clipboard(editor *ed, editor_clipboard_fn fn, void *ctx)
{
    ed->clipboard_fn = fn;
    ed->clipboard_ctx = ctx;
}

void editor_set_loop(editor *ed, struct loop *lp) { ed->loop = lp; }
struct loop *editor_loop(const editor *ed) { return ed->loop; }
bool editor_quitting(const editor *ed) { return ed->quit; }

bool editor_take_suspend(editor *ed)
{
    bool r = ed->suspend_requested;
    ed->suspend_requested = false;
    return r;
}

bool editor_take_redraw(editor *ed)
{
    bool r = ed->redraw_requested;
    ed->redraw_requested = false;
    return r;
}

/* Moves a position past a replacement of [pos, pos + old_len) by new_len bytes. */
static size_t shift_replace(size_t p, size_t pos, size_t old_len, size_t new_len)
{
    if (p == TEXT_POS_NONE) return p;
    if (p >= pos + old_len) return p - old_len + new_len;
    if (p > pos) return pos + (p - pos < new_len ? p - pos : new_len);
    return p;
}

void editor_follow_replace(editor *ed, const text *t, size_t pos, size_t old_len, size_t new_len)
{
    for (int i = 0; i < ed->n_bufs; i++) {
        buffer *b = ed->bufs[i];
        if (b->text != t) continue;
        size_t far = b->cursor > b->anchor ? b->cursor : b->anchor; /* anchor NONE: not used */
        b->cursor = shift_replace(b->cursor, pos, old_len, new_len);
        b->anchor = shift_replace(b->anchor, pos, old_len, new_len);
        if (b->inclusive && b->anchor != TEXT_POS_NONE && far >= pos && far < pos + old_len) {
            /* the character under the far end was replaced: the end goes on the replacement's
             * last one, so the selection keeps covering what it covered */
            size_t to = new_len > 0 ? view_prev_cluster(t, pos + new_len) : pos;
            if (b->cursor >= b->anchor)
                b->cursor = to < b->anchor ? b->anchor : to;
            else
                b->anchor = to < b->cursor ? b->cursor : to;
        }
        if (b->top > pos) {
            b->top = shift_replace(b->top, pos, old_len, new_len);
            if (b->top > pos && b->top < pos + new_len) b->top = pos; /* keep a row start */
        }
        b->typing = false;
        b->lc_valid = false;
    }
}

void editor_select_in(editor *ed, const text *t, size_t lo, size_t hi)
{
    for (int i = 0; i < ed->n_bufs; i++) {
        buffer *b = ed->bufs[i];
        if (b->text == t && lo < hi) buffer_select_range(b, lo, hi);
    }
}
