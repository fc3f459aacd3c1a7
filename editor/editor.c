/* editor.c: buffers, key dispatch, prompts, search and replace, save/quit flows, recovery
 * timing, mouse and scrolling (see editor.h). Never includes curses: the terminal layer feeds
 * keys in and draws the state out. */
#include "editor.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "command.h"
#include "motion.h"

/* ---- buffers ---- */

static buffer *buffer_new(text *t, const char *path, const char *name)
{
    buffer *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->text = t;
    b->path = path ? strdup(path) : NULL;
    b->name = strdup(name);
    if ((path && !b->path) || !b->name) { free(b->path); free(b->name); free(b); return NULL; }
    b->anchor = TEXT_POS_NONE;
    b->goal_col = -1;
    return b;
}

static void buffer_free(buffer *b)
{
    if (!b) return;
    text_free(b->text);
    free(b->path);
    free(b->name);
    free(b->rec_file);
    free(b->rec_offer);
    free(b);
}

/* The buffer has a recovery file (a named file, or an unnamed buffer with its own path). */
static bool buffer_rec_able(const buffer *b)
{
    return !b->is_help && (b->path || b->rec_file);
}

static file_status buffer_rec_write(buffer *b)
{
    if (b->path) return file_recovery_write(b->text, b->path, NULL);
    return file_recovery_write_file(b->text, NULL, 0, b->rec_file, NULL);
}

static void buffer_rec_remove(buffer *b)
{
    if (b->is_help) return;
    if (b->path) file_recovery_remove(b->path);
    else if (b->rec_file) unlink(b->rec_file);
}

/* Moves a position kept by the buffer across an insertion of len bytes at pos. */
static size_t shift_insert(size_t p, size_t pos, size_t len)
{
    return p != TEXT_POS_NONE && p > pos ? p + len : p;
}

static size_t shift_delete(size_t p, size_t pos, size_t len)
{
    if (p == TEXT_POS_NONE || p <= pos) return p;
    return p <= pos + len ? pos : p - len;
}

bool buffer_insert(buffer *b, size_t pos, const char *bytes, size_t len, const uint8_t *attrs)
{
    if (b->readonly) return false;
    if (text_insert_attr(b->text, pos, bytes, len, attrs) != TEXT_OK) return false;
    if (b->lc_valid && pos < b->lc_pos) {
        for (size_t i = 0; i < len; i++) b->lc_line += bytes[i] == '\n';
        b->lc_pos += len;
    }
    b->lc_rev = text_revision(b->text);
    b->cursor = shift_insert(b->cursor, pos, len);
    b->anchor = shift_insert(b->anchor, pos, len);
    b->top = shift_insert(b->top, pos, len);
    return true;
}

bool buffer_delete(buffer *b, size_t pos, size_t len)
{
    if (b->readonly) return false;
    size_t nl = 0;
    bool before = b->lc_valid && pos + len <= b->lc_pos;
    if (before) nl = view_count_lines(b->text, pos, pos + len);
    if (text_delete(b->text, pos, len) != TEXT_OK) return false;
    if (before) { b->lc_line -= nl; b->lc_pos -= len; }
    else if (pos < b->lc_pos) b->lc_valid = false;
    b->lc_rev = text_revision(b->text);
    b->cursor = shift_delete(b->cursor, pos, len);
    b->anchor = shift_delete(b->anchor, pos, len);
    b->top = shift_delete(b->top, pos, len);
    return true;
}

size_t editor_line_of(buffer *b, size_t pos)
{
    size_t size = text_size(b->text);
    if (pos > size) pos = size;
    if (!b->lc_valid || b->lc_rev != text_revision(b->text) || b->lc_pos > size ||
        (pos < b->lc_pos && pos < b->lc_pos - pos)) {   /* nearer the start: count from 0 */
        b->lc_pos = 0;
        b->lc_line = 0;
    }
    if (pos >= b->lc_pos) b->lc_line += view_count_lines(b->text, b->lc_pos, pos);
    else b->lc_line -= view_count_lines(b->text, pos, b->lc_pos);
    b->lc_pos = pos;
    b->lc_rev = text_revision(b->text);
    b->lc_valid = true;
    return b->lc_line;
}

size_t editor_col_of(buffer *b, size_t pos)
{
    size_t ls = view_line_start(b->text, pos), col = 0;
    while (ls < pos) {
        size_t n;
        const char *c = text_chunk(b->text, ls, &n);
        if (!c) break;
        if (n > pos - ls) n = pos - ls;
        for (size_t i = 0; i < n; i++) col += ((unsigned char)c[i] & 0xc0) != 0x80;
        ls += n;
    }
    return col;
}

bool editor_selection(const buffer *b, size_t *start, size_t *end)
{
    if (!b || b->anchor == TEXT_POS_NONE || b->anchor == b->cursor) return false;
    *start = b->anchor < b->cursor ? b->anchor : b->cursor;
    *end = b->anchor < b->cursor ? b->cursor : b->anchor;
    return true;
}

/* ---- recovery writes of large texts on a thread ---- */

/* One recovery write in progress. The spans point into stored bytes of the buffer's text,
 * which never move or change: the buffer is only freed after the job is joined. */
typedef struct editor_recovery_job {
    pthread_t thread;      /* the writer */
    text_span *spans;      /* n spans of the text to write */
    size_t n;              /* count */
    char *path;            /* file the recovery file is for (direct: the recovery file) */
    bool direct;           /* path is the recovery file itself (an unnamed buffer) */
    buffer *buf;           /* buffer written */
    uint64_t rev;          /* its text revision then */
    double time;           /* tick time the job started */
    atomic_bool done;      /* the writer has finished */
    file_status status;    /* its result */
} editor_recovery_job;

static void *editor_recovery_thread(void *arg)
{
    editor_recovery_job *job = arg;
    job->status = job->direct ? file_recovery_write_file(NULL, job->spans, job->n, job->path, NULL)
                              : file_recovery_write_spans(job->spans, job->n, job->path, NULL);
    atomic_store(&job->done, true);
    return NULL;
}

/* Collects a finished job (or waits for it when wait). */
static void editor_recovery_collect(editor *ed, bool wait)
{
    editor_recovery_job *job = ed->rec_job;
    if (!job || (!wait && !atomic_load(&job->done))) return;
    pthread_join(job->thread, NULL);
    for (int i = 0; i < ed->n_bufs; i++)
        if (ed->bufs[i] == job->buf && job->status == FILE_OK) {
            job->buf->rec_written = true;
            job->buf->rec_rev = job->rev;
            job->buf->rec_time = job->time;
        }
    free(job->spans);
    free(job->path);
    free(job);
    ed->rec_job = NULL;
}

void editor_recovery_wait(editor *ed)
{
    editor_recovery_collect(ed, true);
}

/* Starts writing b's recovery file on a thread; false when it could not start. */
static bool editor_recovery_start(editor *ed, buffer *b, double now)
{
    editor_recovery_job *job = calloc(1, sizeof *job);
    if (!job) return false;
    job->spans = text_spans(b->text, &job->n);
    job->path = strdup(b->path ? b->path : b->rec_file);
    job->direct = !b->path;
    job->buf = b;
    job->rev = text_revision(b->text);
    job->time = now;
    atomic_init(&job->done, false);
    if ((!job->spans && text_size(b->text) > 0) || !job->path ||
        pthread_create(&job->thread, NULL, editor_recovery_thread, job) != 0) {
        free(job->spans);
        free(job->path);
        free(job);
        return false;
    }
    ed->rec_job = job;
    return true;
}

/* ---- lifetime and setup ---- */

editor *editor_new(void)
{
    editor *ed = calloc(1, sizeof *ed);
    if (!ed) return NULL;
    ed->cfg = config_new();
    if (!ed->cfg) { free(ed); return NULL; }
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

buffer *editor_buffer(editor *ed)
{
    return ed->n_bufs > 0 ? ed->bufs[ed->cur] : NULL;
}

static bool editor_add_buffer(editor *ed, buffer *b)
{
    buffer **nb = realloc(ed->bufs, (size_t)(ed->n_bufs + 1) * sizeof *nb);
    if (!nb) return false;
    ed->bufs = nb;
    ed->bufs[ed->n_bufs] = b;
    ed->cur = ed->n_bufs++;
    return true;
}

void editor_message(editor *ed, bool error, const char *fmt, ...)
{
    char *dst = ed->message;
    bool *dst_error = &ed->message_error;
    if (ed->message_queueing && (ed->message[0] || ed->prompt != PROMPT_NONE)) {
        if (ed->n_msg_queue == EDITOR_MESSAGE_QUEUE) return;   /* the first ones are kept */
        dst = ed->msg_queue[ed->n_msg_queue];
        dst_error = &ed->msg_queue_error[ed->n_msg_queue];
        ed->n_msg_queue++;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, EDITOR_MESSAGE_MAX, fmt, ap);
    va_end(ap);
    /* the message line is drawn by the terminal layer: keep it printable */
    for (char *p = dst; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    *dst_error = error;
    ed->message_serial++;
}

/* Shows the oldest waiting message. */
static void editor_message_next(editor *ed)
{
    if (ed->n_msg_queue == 0) return;
    memcpy(ed->message, ed->msg_queue[0], EDITOR_MESSAGE_MAX);
    ed->message_error = ed->msg_queue_error[0];
    ed->n_msg_queue--;
    memmove(ed->msg_queue[0], ed->msg_queue[1], (size_t)ed->n_msg_queue * EDITOR_MESSAGE_MAX);
    memmove(&ed->msg_queue_error[0], &ed->msg_queue_error[1], (size_t)ed->n_msg_queue * sizeof(bool));
    ed->message_serial++;
}

void editor_set_model_hook(editor *ed, editor_model_fn fn, void *ctx)
{
    ed->model_fn = fn;
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
        editor_message(ed, true, "The keymap has no %s mode", mode);
        return false;
    }
    ed->ks.mode = m;
    keymap_state_reset(&ed->ks);
    return true;
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

/* ---- opening ---- */

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

static void editor_offer_recovery(editor *ed)
{
    if (ed->prompt != PROMPT_NONE) return;
    for (int i = 0; i < ed->n_bufs; i++) {
        buffer *b = ed->bufs[i];
        if (!b->recovery_offer) continue;
        ed->cur = i;
        char label[sizeof ed->prompt_label];
        if (b->path)
            snprintf(label, sizeof label, "Unsaved changes of %.100s were recovered. Restore them? (y/n) ",
                     b->name);
        else
            snprintf(label, sizeof label, "Unsaved text of an unnamed buffer was recovered. Restore it? (y/n) ");
        editor_prompt_start(ed, PROMPT_RECOVER, label, "");
        return;
    }
}

bool editor_open(editor *ed, const char *path)
{
    for (int i = 0; i < ed->n_bufs; i++)
        if (ed->bufs[i]->path && strcmp(ed->bufs[i]->path, path) == 0) { ed->cur = i; return true; }
    text *t;
    file_info info;
    int err = 0;
    file_status s = file_load(path, &t, &info, &err);
    if (s != FILE_OK) {
        editor_message(ed, true, "%s: %s", path, s == FILE_E_IO ? strerror(err) : file_status_str(s));
        return false;
    }
    buffer *b = buffer_new(t, path, base_name(path));
    if (!b || !editor_add_buffer(ed, b)) {
        if (b) buffer_free(b); else text_free(t);
        editor_message(ed, true, "Out of memory");
        return false;
    }
    b->info = info;
    if (!info.exists) editor_message(ed, false, "%s: new file", path);
    if (file_recovery_exists(path)) {
        b->recovery_offer = true;
        editor_offer_recovery(ed);
    }
    return true;
}

bool editor_open_text(editor *ed, text *t, const char *name)
{
    buffer *b = buffer_new(t, NULL, name);
    if (!b || !editor_add_buffer(ed, b)) {
        if (b) { b->text = NULL; buffer_free(b); }
        return false;
    }
    text_set_saved(t);
    char rec[PATH_MAX];
    if (file_recovery_unnamed_path(rec, sizeof rec)) b->rec_file = strdup(rec);
    return true;
}

bool editor_offer_unnamed_recovery(editor *ed)
{
    buffer *b = editor_buffer(ed);
    if (!b || b->path || !b->rec_file || b->rec_offer || text_size(b->text) > 0) return false;
    char found[1][PATH_MAX];
    if (file_recovery_unnamed_list(found, 1) < 1) return false;
    b->rec_offer = strdup(found[0]);
    if (!b->rec_offer) return false;
    b->recovery_offer = true;
    editor_offer_recovery(ed);
    return true;
}

/* ---- geometry ---- */

int editor_text_rows(const editor *ed)
{
    return ed->rows - 2 > 1 ? ed->rows - 2 : 1;
}

int editor_gutter(editor *ed)
{
    buffer *b = editor_buffer(ed);
    if (!ed->cfg->line_numbers || !b) return 0;
    size_t last = editor_line_of(b, b->top) + (size_t)editor_text_rows(ed) + 1;
    int digits = 1;
    while (last >= 10) { last /= 10; digits++; }
    if (digits < 3) digits = 3;
    return digits + 1 < ed->cols / 2 ? digits + 1 : 0;
}

view_opts editor_view_opts(editor *ed)
{
    buffer *b = editor_buffer(ed);
    int w = ed->cols - editor_gutter(ed);
    return (view_opts){ .width = w < 1 ? 1 : w, .wrap = ed->cfg->wrap,
                        .tab_width = ed->cfg->tab_width > 0 ? ed->cfg->tab_width : 8,
                        .hscroll = b && !ed->cfg->wrap ? b->hscroll : 0 };
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
        int col = view_col_from(b->text, view_line_start(b->text, b->cursor), b->cursor, &o);
        if (col < b->hscroll) b->hscroll = col;
        else if (col >= b->hscroll + o.width) b->hscroll = col - o.width + 1;
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

/* ---- typing, paste, commands ---- */

bool editor_replace_selection(editor *ed, const char *bytes, size_t len)
{
    buffer *b = editor_buffer(ed);
    if (!b || b->readonly) return false;
    size_t s, e;
    if (editor_selection(b, &s, &e)) {
        buffer_delete(b, s, e - s);
        b->cursor = s;
    }
    b->anchor = TEXT_POS_NONE;
    size_t pos = b->cursor;
    if (!buffer_insert(b, pos, bytes, len, NULL)) {
        editor_message(ed, true, "Out of memory");
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
    if (!r) { editor_message(ed, true, "Out of memory"); return; }
    text_read(b->text, start, end - start, r);
    free(ed->reg);
    ed->reg = r;
    ed->reg_len = end - start;
    if (ed->clipboard_fn) ed->clipboard_fn(r, ed->reg_len, ed->clipboard_ctx);
}

static bool is_blank_cp(uint32_t c)
{
    return c == ' ' || c == '\t';
}

/* Inserts one typed character: a run of typed words is one undo step per word. */
static void editor_type(editor *ed, uint32_t cp)
{
    buffer *b = editor_buffer(ed);
    if (!b) return;
    if (b->readonly) { editor_message(ed, true, "This buffer is read-only"); return; }
    char u[4];
    size_t n;
    if (cp < 0x80) { u[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { u[0] = (char)(0xc0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
    else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f)); n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); n = 4;
    }
    bool blank = is_blank_cp(cp);
    size_t s, e;
    bool sel = editor_selection(b, &s, &e);
    if (!b->typing || sel || (b->typed_blank && !blank)) text_snapshot(b->text);
    editor_replace_selection(ed, u, n);
    b->typing = true;
    b->typed_blank = blank;
    b->goal_col = -1;
}

bool editor_run_command(editor *ed, const char *name, int count)
{
    const command *c = command_find(name);
    if (!c) {
        editor_message(ed, true, "No command %s", name);
        return false;
    }
    buffer *b = editor_buffer(ed);
    if (b) { text_snapshot(b->text); b->typing = false; }
    ed->keep_top = false;
    if (!(c->flags & COMMAND_MODEL) && ed->command_hook &&
        ed->command_hook(ed, c->name, ed->command_hook_ctx)) {
        /* consumed by the hook */
    } else if (c->flags & COMMAND_MODEL) {
        if (ed->model_fn) ed->model_fn(ed, c->name, count, ed->model_ctx);
        else editor_message(ed, true, "No model loaded");
    } else {
        int n = (c->flags & COMMAND_REPEAT) && count > 1 ? count : 1;
        if (!(c->flags & COMMAND_REPEAT)) n = 1;
        for (int i = 0; i < n; i++) c->fn(ed, c->flags & COMMAND_REPEAT ? 0 : count);
    }
    b = editor_buffer(ed);
    if (b) {
        text_snapshot(b->text);
        if (!(c->flags & COMMAND_KEEP_GOAL)) b->goal_col = -1;
        /* a command that used the selection ends visual mode */
        int vm = ed->km ? keymap_mode_find(ed->km, "visual") : -1;
        if (vm >= 0 && ed->ks.mode == vm && b->anchor == TEXT_POS_NONE &&
            strcmp(c->name, "mode-visual") != 0) {
            int nm = keymap_mode_find(ed->km, "normal");
            if (nm >= 0) ed->ks.mode = nm;
        }
    }
    return true;
}

/* ---- prompts ---- */

void editor_prompt_start(editor *ed, editor_prompt kind, const char *label, const char *initial)
{
    buffer *b = editor_buffer(ed);
    ed->prompt = kind;
    snprintf(ed->prompt_label, sizeof ed->prompt_label, "%s", label);
    ed->input_len = strlen(initial) < EDITOR_INPUT_MAX - 1 ? strlen(initial) : EDITOR_INPUT_MAX - 1;
    memcpy(ed->input, initial, ed->input_len);
    ed->input[ed->input_len] = 0;
    if (ed->message_queueing && ed->message[0] && ed->n_msg_queue < EDITOR_MESSAGE_QUEUE) {
        /* a start-up message under a start-up prompt is shown after it */
        memmove(ed->msg_queue[1], ed->msg_queue[0], (size_t)ed->n_msg_queue * EDITOR_MESSAGE_MAX);
        memmove(&ed->msg_queue_error[1], &ed->msg_queue_error[0], (size_t)ed->n_msg_queue * sizeof(bool));
        memcpy(ed->msg_queue[0], ed->message, EDITOR_MESSAGE_MAX);
        ed->msg_queue_error[0] = ed->message_error;
        ed->n_msg_queue++;
    }
    ed->message[0] = 0;
    if (b) {
        ed->origin_cursor = b->cursor;
        ed->origin_anchor = b->anchor;
        ed->origin_top = b->top;
    }
}

static void editor_prompt_end(editor *ed)
{
    ed->prompt = PROMPT_NONE;
    ed->input_len = 0;
    ed->input[0] = 0;
    editor_offer_recovery(ed);
}

static bool prompt_is_yes_no(editor_prompt p)
{
    return p == PROMPT_REPLACE_CONFIRM || p == PROMPT_QUIT || p == PROMPT_CLOSE ||
           p == PROMPT_OVERWRITE || p == PROMPT_RECOVER;
}

/* Compiles pattern as the current search; false with a message on a bad expression. */
static bool editor_set_search(editor *ed, const char *pattern, bool regex)
{
    search s;
    char err[256];
    if (!search_init(&s, pattern, regex, err, sizeof err)) {
        editor_message(ed, true, "Bad expression: %s", err);
        return false;
    }
    if (ed->search_valid) search_release(&ed->search);
    ed->search = s;
    ed->search_valid = true;
    ed->search_highlight = true;
    return true;
}

/* Selects the next match from `from`; false (message) when there is none. */
static bool editor_find_from(editor *ed, size_t from, bool backward)
{
    buffer *b = editor_buffer(ed);
    search_match m;
    if (!b || !ed->search_valid || ed->search.len == 0) return false;
    if (!search_next(&ed->search, b->text, from, backward, true, &m)) {
        editor_message(ed, true, "Not found: %s", ed->search.pattern);
        return false;
    }
    bool wrapped = backward ? m.start >= from : m.start < from;
    b->anchor = m.start;
    b->cursor = m.end;
    ed->center_next = true;
    if (wrapped) editor_message(ed, false, "Search wrapped");
    return true;
}

void editor_find_again(editor *ed, bool backward)
{
    buffer *b = editor_buffer(ed);
    if (!b) return;
    if (!ed->search_valid) { editor_prompt_start(ed, PROMPT_FIND, "Find: ", ""); return; }
    size_t s, e;
    size_t from = b->cursor;
    if (editor_selection(b, &s, &e)) from = backward ? s : e;   /* after the match */
    editor_find_from(ed, from, backward);
}

/* Incremental search: every change of the input searches again from where it began. */
static void editor_find_incremental(editor *ed)
{
    buffer *b = editor_buffer(ed);
    if (!b) return;
    b->cursor = ed->origin_cursor;
    b->anchor = ed->origin_anchor;
    b->top = ed->origin_top;
    if (ed->input_len == 0) { ed->message[0] = 0; return; }
    if (ed->prompt == PROMPT_FIND_REGEX || ed->prompt == PROMPT_REPLACE_FIND) return;
    ed->message[0] = 0;
    if (editor_set_search(ed, ed->input, false)) editor_find_from(ed, ed->origin_cursor, false);
}

static void editor_replace_next(editor *ed);

static void editor_replace_finish(editor *ed)
{
    buffer *b = editor_buffer(ed);
    if (b) text_group_end(b->text);
    editor_message(ed, false, "Replaced %d occurrence%s", ed->replace_count,
                   ed->replace_count == 1 ? "" : "s");
    free(ed->replace_with);
    ed->replace_with = NULL;
    editor_prompt_end(ed);
}

/* Replaces the selected match; the cursor ends after the replacement. */
static bool editor_replace_one(editor *ed, const search_match *m)
{
    buffer *b = editor_buffer(ed);
    size_t len;
    char *r = search_expand(b->text, m, ed->replace_with, &len);
    if (!r) return false;
    buffer_delete(b, m->start, m->end - m->start);
    buffer_insert(b, m->start, r, len, NULL);
    free(r);
    b->cursor = m->start + len;
    b->anchor = TEXT_POS_NONE;
    ed->replace_count++;
    return true;
}

/* Moves to the next match after the cursor and asks; ends when there is none. */
static void editor_replace_next(editor *ed)
{
    buffer *b = editor_buffer(ed);
    search_match m;
    if (!search_next(&ed->search, b->text, b->cursor, false, false, &m)) {
        editor_replace_finish(ed);
        return;
    }
    b->anchor = m.start;
    b->cursor = m.end;
    ed->center_next = true;
    ed->prompt = PROMPT_REPLACE_CONFIRM;
    ed->input_len = 0;
    ed->input[0] = 0;
    snprintf(ed->prompt_label, sizeof ed->prompt_label, "Replace this match? (y)es (n)o (a)ll (q)uit ");
}

static void editor_replace_all(editor *ed)
{
    buffer *b = editor_buffer(ed);
    search_match m;
    size_t from = b->anchor != TEXT_POS_NONE && b->anchor < b->cursor ? b->anchor : b->cursor;
    while (search_next(&ed->search, b->text, from, false, false, &m)) {
        if (!editor_replace_one(ed, &m)) break;
        from = b->cursor;
        if (from >= text_size(b->text)) break;
    }
    editor_replace_finish(ed);
}

void editor_goto_line(editor *ed, size_t line)
{
    buffer *b = editor_buffer(ed);
    if (!b) return;
    b->cursor = view_line_pos(b->text, line);
    b->anchor = TEXT_POS_NONE;
    ed->center_next = true;
}

/* Ends the quit flow once every buffer is saved or discarded. */
static void editor_quit_now(editor *ed)
{
    editor_recovery_wait(ed);
    for (int i = 0; i < ed->n_bufs; i++)
        buffer_rec_remove(ed->bufs[i]);
    ed->quit = true;
}

static int editor_n_modified(editor *ed)
{
    int n = 0;
    for (int i = 0; i < ed->n_bufs; i++)
        if (!ed->bufs[i]->is_help && text_modified(ed->bufs[i]->text)) n++;
    return n;
}

void editor_request_quit(editor *ed, bool force)
{
    int n = editor_n_modified(ed);
    if (n == 0 || force) { editor_quit_now(ed); return; }
    char label[160];
    snprintf(label, sizeof label, "%d file%s modified. Save before quitting? (y)es (n)o (c)ancel ",
             n, n == 1 ? "" : "s");
    editor_prompt_start(ed, PROMPT_QUIT, label, "");
}

void editor_close_buffer(editor *ed, int index)
{
    if (index < 0 || index >= ed->n_bufs) return;
    editor_recovery_wait(ed);
    buffer *b = ed->bufs[index];
    buffer_rec_remove(b);
    if (ed->model_fn) ed->model_fn(ed, "forget", index, ed->model_ctx); /* drops jobs on its text */
    buffer_free(b);
    memmove(ed->bufs + index, ed->bufs + index + 1, (size_t)(ed->n_bufs - index - 1) * sizeof *ed->bufs);
    ed->n_bufs--;
    if (ed->cur >= ed->n_bufs) ed->cur = ed->n_bufs - 1;
    if (ed->cur < 0) ed->cur = 0;
    if (ed->n_bufs == 0) ed->quit = true;
}

void editor_request_close(editor *ed)
{
    buffer *b = editor_buffer(ed);
    if (!b) return;
    if (b->is_help || !text_modified(b->text)) { editor_close_buffer(ed, ed->cur); return; }
    char label[160];
    snprintf(label, sizeof label, "%.80s is modified. Save before closing? (y)es (n)o (c)ancel ", b->name);
    editor_prompt_start(ed, PROMPT_CLOSE, label, "");
}

/* Saves the current buffer; true when it was written. Asks when the file changed on disk. */
static bool editor_save_current(editor *ed, bool force)
{
    buffer *b = editor_buffer(ed);
    if (!b || b->is_help) return false;
    if (!b->path) {
        editor_prompt_start(ed, PROMPT_SAVE_AS, "Save as: ", "");
        return false;
    }
    int err = 0;
    editor_recovery_wait(ed);   /* its file is removed below */
    /* a running model job puts the text it replaces back for the save */
    if (ed->model_fn) ed->model_fn(ed, "save-begin", 0, ed->model_ctx);
    file_status s = file_save(b->text, b->path, &b->info, force, &err);
    if (s == FILE_OK) text_set_saved(b->text);
    if (ed->model_fn) ed->model_fn(ed, "save-end", 0, ed->model_ctx);
    if (s == FILE_E_CHANGED) {
        char label[160];
        snprintf(label, sizeof label, "%.80s changed on disk since it was opened. Overwrite? (y/n) ",
                 b->name);
        editor_prompt_start(ed, PROMPT_OVERWRITE, label, "");
        return false;
    }
    if (s != FILE_OK) {
        editor_message(ed, true, "Cannot save %s: %s", b->path,
                       s == FILE_E_IO ? strerror(err) : file_status_str(s));
        return false;
    }
    file_recovery_remove(b->path);
    b->rec_written = false;
    editor_message(ed, false, "Saved %s (%zu bytes)", b->path, text_size(b->text));
    return true;
}

void editor_save_buffer(editor *ed, bool force)
{
    editor_save_current(ed, force);
}

/* Saves every modified buffer for the quit prompt; stops at the first that needs an answer. */
static void editor_save_all_and_quit(editor *ed)
{
    for (int i = 0; i < ed->n_bufs; i++) {
        buffer *b = ed->bufs[i];
        if (b->is_help || !text_modified(b->text)) continue;
        ed->cur = i;
        ed->quit_after_save = true;
        if (!editor_save_current(ed, false)) return;   /* a prompt or an error: stay */
    }
    ed->quit_after_save = false;
    editor_quit_now(ed);
}

static void editor_recover(editor *ed, bool yes)
{
    buffer *b = editor_buffer(ed);
    b->recovery_offer = false;
    if (!yes) {
        if (b->path) file_recovery_remove(b->path);
        else if (b->rec_offer) unlink(b->rec_offer);
        free(b->rec_offer);
        b->rec_offer = NULL;
        editor_message(ed, false, "Recovery file removed");
        return;
    }
    text *r = NULL;
    int err = 0;
    file_status s = FILE_E_NONE;
    if (b->path) {
        s = file_recovery_load(b->path, &r, &err);
    } else if (b->rec_offer) {
        file_info info;
        s = file_load(b->rec_offer, &r, &info, &err);
        if (s == FILE_OK && !info.exists) { text_free(r); r = NULL; s = FILE_E_NONE; }
    }
    if (s != FILE_OK) {
        editor_message(ed, true, "Cannot read the recovery file: %s",
                       s == FILE_E_IO ? strerror(err) : file_status_str(s));
        return;
    }
    size_t n = text_size(r);
    char *bytes = malloc(n ? n : 1);
    if (!bytes) { text_free(r); editor_message(ed, true, "Out of memory"); return; }
    text_read(r, 0, n, bytes);
    text_free(r);
    text_group_begin(b->text);
    buffer_delete(b, 0, text_size(b->text));
    buffer_insert(b, 0, bytes, n, NULL);
    text_group_end(b->text);
    free(bytes);
    b->cursor = 0;
    b->top = 0;
    b->rec_written = true;
    if (!b->path && b->rec_offer) {
        /* the earlier session's file becomes this buffer's recovery file */
        if (!b->rec_file || rename(b->rec_offer, b->rec_file) != 0) b->rec_written = false;
        free(b->rec_offer);
        b->rec_offer = NULL;
    }
    editor_message(ed, false, "Recovered unsaved changes (undo returns to the file on disk)");
}

static void editor_answer(editor *ed, char c)
{
    editor_prompt p = ed->prompt;
    buffer *b = editor_buffer(ed);
    switch (p) {
    case PROMPT_REPLACE_CONFIRM:
        if (c == 'y') { search_match m; size_t s, e;
            if (editor_selection(b, &s, &e) && search_next(&ed->search, b->text, s, false, false, &m) &&
                m.start == s)
                editor_replace_one(ed, &m);
            editor_replace_next(ed); }
        else if (c == 'n') { b->anchor = TEXT_POS_NONE; editor_replace_next(ed); }
        else if (c == 'a') editor_replace_all(ed);
        else if (c == 'q') editor_replace_finish(ed);
        return;
    case PROMPT_QUIT:
        if (c == 'y') { editor_prompt_end(ed); editor_save_all_and_quit(ed); }
        else if (c == 'n') { editor_prompt_end(ed); editor_quit_now(ed); }
        else if (c == 'c') editor_prompt_end(ed);
        return;
    case PROMPT_CLOSE:
        if (c == 'y') { editor_prompt_end(ed); if (editor_save_current(ed, false)) editor_close_buffer(ed, ed->cur); }
        else if (c == 'n') { editor_prompt_end(ed); editor_close_buffer(ed, ed->cur); }
        else if (c == 'c') editor_prompt_end(ed);
        return;
    case PROMPT_OVERWRITE:
        if (c == 'y') {
            editor_prompt_end(ed);
            if (editor_save_current(ed, true) && ed->quit_after_save) editor_save_all_and_quit(ed);
        } else if (c == 'n') {
            editor_prompt_end(ed);
            ed->quit_after_save = false;
            editor_message(ed, false, "Not saved");
        }
        return;
    case PROMPT_RECOVER:
        if (c == 'y' || c == 'n') { ed->prompt = PROMPT_NONE; editor_recover(ed, c == 'y'); editor_prompt_end(ed); }
        return;
    default:
        return;
    }
}

static void editor_prompt_cancel(editor *ed)
{
    buffer *b = editor_buffer(ed);
    editor_prompt p = ed->prompt;
    if (p == PROMPT_REPLACE_CONFIRM) { editor_replace_finish(ed); return; }
    if (p == PROMPT_RECOVER) return;   /* needs an answer */
    if ((p == PROMPT_FIND || p == PROMPT_FIND_REGEX) && b) {
        b->cursor = ed->origin_cursor;
        b->anchor = ed->origin_anchor;
        b->top = ed->origin_top;
    }
    if (p == PROMPT_REPLACE_WITH && b) text_group_end(b->text);
    ed->quit_after_save = false;
    editor_prompt_end(ed);
    editor_message(ed, false, "Cancelled");
}

static void editor_prompt_accept(editor *ed)
{
    buffer *b = editor_buffer(ed);
    editor_prompt p = ed->prompt;
    char in[EDITOR_INPUT_MAX];
    memcpy(in, ed->input, ed->input_len + 1);
    switch (p) {
    case PROMPT_SAVE_AS:
        editor_prompt_end(ed);
        if (!b || !in[0]) return;
        if (!b->path || strcmp(b->path, in) != 0) {
            char *np = strdup(in), *nn = strdup(base_name(in));
            if (!np || !nn) { free(np); free(nn); return; }
            buffer_rec_remove(b);
            free(b->rec_file);
            b->rec_file = NULL;
            free(b->path); free(b->name);
            b->path = np; b->name = nn;
            memset(&b->info, 0, sizeof b->info);
            b->info.exists = file_changed(np, &b->info);   /* an existing file: ask first */
            if (b->info.exists) {
                char label[160];
                snprintf(label, sizeof label, "%.80s exists. Overwrite? (y/n) ", b->name);
                editor_prompt_start(ed, PROMPT_OVERWRITE, label, "");
                return;
            }
        }
        if (editor_save_current(ed, false) && ed->quit_after_save) editor_save_all_and_quit(ed);
        return;
    case PROMPT_OPEN:
        editor_prompt_end(ed);
        if (in[0]) editor_open(ed, in);
        return;
    case PROMPT_GOTO: {
        editor_prompt_end(ed);
        char *end;
        long line = strtol(in, &end, 10);
        if (end == in || line < 1) { editor_message(ed, true, "Not a line number: %s", in); return; }
        editor_goto_line(ed, (size_t)line - 1);
        return;
    }
    case PROMPT_FIND:
        editor_prompt_end(ed);
        return;
    case PROMPT_FIND_REGEX:
        editor_prompt_end(ed);
        if (in[0] && editor_set_search(ed, in, true)) editor_find_from(ed, ed->origin_cursor, false);
        return;
    case PROMPT_REPLACE_FIND:
        if (!in[0] || !editor_set_search(ed, in, true)) { editor_prompt_end(ed); return; }
        editor_prompt_start(ed, PROMPT_REPLACE_WITH, "Replace with: ", "");
        return;
    case PROMPT_REPLACE_WITH:
        free(ed->replace_with);
        ed->replace_with = strdup(in);
        ed->replace_count = 0;
        if (!ed->replace_with || !b) { editor_prompt_end(ed); return; }
        text_group_begin(b->text);   /* the whole replace is one undo step */
        b->anchor = TEXT_POS_NONE;
        editor_replace_next(ed);
        return;
    case PROMPT_COMMAND:
        editor_prompt_end(ed);
        editor_run_line(ed, in);
        return;
    case PROMPT_MODEL: {
        int k = atoi(in);
        editor_prompt_end(ed);
        if (ed->model_fn) ed->model_fn(ed, "model-choose", k, ed->model_ctx);
        return;
    }
    default:
        return;
    }
}

/* Runs a command-prompt line: a command name, a line number, w q wq x q!, e FILE, set NAME VALUE. */
void editor_run_line(editor *ed, const char *line)
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
    if (*end == 0 && num > 0) { editor_goto_line(ed, (size_t)num - 1); return; }
    if (!strcmp(word, "w")) { editor_save_buffer(ed, false); return; }
    if (!strcmp(word, "q")) { editor_request_quit(ed, false); return; }
    if (!strcmp(word, "q!")) { editor_request_quit(ed, true); return; }
    if (!strcmp(word, "wq") || !strcmp(word, "x")) {
        if (editor_save_current(ed, false)) editor_request_quit(ed, false);
        return;
    }
    if (!strcmp(word, "e") && *arg) { editor_open(ed, arg); return; }
    if (!strcmp(word, "set")) {
        char name[64];
        size_t k = strcspn(arg, " =");
        if (k == 0 || k >= sizeof name) { editor_message(ed, true, "Usage: set NAME VALUE"); return; }
        memcpy(name, arg, k);
        name[k] = 0;
        const char *val = arg + k;
        while (*val == ' ' || *val == '=') val++;
        char err[256];
        if (config_set(ed->cfg, name, val, err, sizeof err) != CONFIG_OK) {
            editor_message(ed, true, "%s", err);
            return;
        }
        editor_apply_config(ed);
        editor_message(ed, false, "%s = %s", name, val);
        return;
    }
    if (command_find(word)) { editor_run_command(ed, word, 0); return; }
    editor_message(ed, true, "Unknown command: %s", word);
}

/* Keys while a prompt is open. */
static void editor_prompt_key(editor *ed, key_code key)
{
    if (prompt_is_yes_no(ed->prompt)) {
        if (key == KEYC_ESC || key == (KEYC_CTRL | 'g') || key == (KEYC_CTRL | 'c')) {
            if (ed->prompt == PROMPT_OVERWRITE || ed->prompt == PROMPT_RECOVER) editor_answer(ed, 'n');
            else if (ed->prompt == PROMPT_REPLACE_CONFIRM) editor_answer(ed, 'q');
            else editor_answer(ed, 'c');
            return;
        }
        if (key < 0x80 && key_is_printable(key)) editor_answer(ed, (char)(key | 0x20));
        return;
    }
    if (key == KEYC_ESC || key == (KEYC_CTRL | 'g') || key == (KEYC_CTRL | 'c')) {
        editor_prompt_cancel(ed);
        return;
    }
    if (key == KEYC_ENTER) { editor_prompt_accept(ed); return; }
    if (key == KEYC_BACKSPACE || key == (KEYC_CTRL | 'h')) {
        if (ed->input_len == 0) return;
        do ed->input_len--; while (ed->input_len > 0 && ((unsigned char)ed->input[ed->input_len] & 0xc0) == 0x80);
        ed->input[ed->input_len] = 0;
        if (ed->prompt == PROMPT_FIND) editor_find_incremental(ed);
        return;
    }
    if (key == (KEYC_CTRL | 'u')) {
        ed->input_len = 0;
        ed->input[0] = 0;
        if (ed->prompt == PROMPT_FIND) editor_find_incremental(ed);
        return;
    }
    if (key_is_printable(key)) {
        uint32_t cp = key & KEYC_BASE_MASK;
        char u[4];
        size_t n;
        if (cp < 0x80) { u[0] = (char)cp; n = 1; }
        else if (cp < 0x800) { u[0] = (char)(0xc0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
        else if (cp < 0x10000) { u[0] = (char)(0xe0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[2] = (char)(0x80 | (cp & 0x3f)); n = 3; }
        else { u[0] = (char)(0xf0 | cp >> 18); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)); u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); n = 4; }
        if (ed->input_len + n >= EDITOR_INPUT_MAX) return;
        memcpy(ed->input + ed->input_len, u, n);
        ed->input_len += n;
        ed->input[ed->input_len] = 0;
        if (ed->prompt == PROMPT_FIND) editor_find_incremental(ed);
        return;
    }
    /* find-next / find-prev keys move between matches during an incremental search */
    if (ed->prompt == PROMPT_FIND && ed->km) {
        keymap_state st;
        keymap_state_init(ed->km, &st);
        st.mode = ed->ks.mode;
        const keymap_binding *bd = NULL;
        if (keymap_feed(ed->km, &st, key, &bd) == KEYMAP_MATCH && bd) {
            if (!strcmp(bd->command, "find-next") || !strcmp(bd->command, "find")) editor_find_again(ed, false);
            else if (!strcmp(bd->command, "find-prev")) editor_find_again(ed, true);
        }
    }
}

/* Keeps a running model job's text apart from the person's edits and from recovery files. */
static void editor_model_hide(editor *ed, int index)
{
    if (ed->model_fn) ed->model_fn(ed, "hide", index, ed->model_ctx);
}

static void editor_model_show(editor *ed)
{
    if (ed->model_fn) ed->model_fn(ed, "show", 0, ed->model_ctx);
}

static void editor_key_dispatch(editor *ed, key_code key);

/* In a command mode of a modal keymap (vi normal: no self-insert while another mode has it) the
 * cursor sits on a character, as in vi: never after the last one of a non-empty line. */
static void editor_clamp_cursor(editor *ed)
{
    buffer *b = editor_buffer(ed);
    if (!b || !ed->km || ed->prompt != PROMPT_NONE || b->anchor != TEXT_POS_NONE) return;
    if (keymap_mode_self_insert(ed->km, ed->ks.mode)) return;
    bool modal = false;
    for (int m = 0; m < keymap_n_modes(ed->km); m++)
        if (keymap_mode_self_insert(ed->km, m)) modal = true;
    if (!modal) return;
    size_t end = view_line_end(b->text, b->cursor);
    if (b->cursor >= end && end > view_line_start(b->text, b->cursor))
        b->cursor = view_prev_cluster(b->text, end);
}

void editor_key(editor *ed, key_code key)
{
    editor_model_hide(ed, -1);   /* shown again on the next frame */
    ed->message_queueing = false;
    uint64_t serial = ed->message_serial;
    editor_key_dispatch(ed, key);
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
    const keymap_binding *bd = NULL;
    keymap_result r = keymap_feed(ed->km, &ed->ks, key, &bd);
    switch (r) {
    case KEYMAP_MATCH:
        if (ed->model_fn && strncmp(bd->command, "model-", 6) != 0 && strcmp(bd->command, "cancel") != 0)
            ed->model_fn(ed, "key", 0, ed->model_ctx); /* any other key ends a continuation */
        editor_run_command(ed, bd->command, (int)ed->ks.count);
        break;
    case KEYMAP_INSERT:
        if (ed->model_fn) ed->model_fn(ed, "key", 0, ed->model_ctx);
        editor_type(ed, key & KEYC_BASE_MASK);
        break;
    case KEYMAP_PREFIX:
        break;
    case KEYMAP_NONE: {
        char name[KEY_NAME_MAX];
        editor_message(ed, true, "%s is not bound (C-g: help)", key_format(key, name, sizeof name));
        break;
    }
    }
    if (!ed->keep_top) editor_scroll(ed);
    ed->keep_top = false;
}

void editor_paste(editor *ed, const char *bytes, size_t len)
{
    editor_model_hide(ed, -1);
    if (ed->prompt != PROMPT_NONE) {
        if (prompt_is_yes_no(ed->prompt)) return;
        for (size_t i = 0; i < len && ed->input_len + 1 < EDITOR_INPUT_MAX; i++) {
            unsigned char c = (unsigned char)bytes[i];
            if (c < 0x20 || c == 0x7f) continue;
            ed->input[ed->input_len++] = (char)c;
        }
        ed->input[ed->input_len] = 0;
        if (ed->prompt == PROMPT_FIND) editor_find_incremental(ed);
        editor_scroll(ed);
        return;
    }
    buffer *b = editor_buffer(ed);
    if (!b || b->readonly || len == 0) return;
    text_snapshot(b->text);
    b->typing = false;
    editor_replace_selection(ed, bytes, len);
    text_snapshot(b->text);
    editor_scroll(ed);
}

/* ---- help ---- */

static void help_append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap + n + 1) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb) return;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

void editor_show_help(editor *ed)
{
    if (!ed->km) return;
    for (int i = 0; i < ed->n_bufs; i++)
        if (ed->bufs[i]->is_help) { editor_close_buffer(ed, i); break; }
    char *buf = NULL, line[512];
    size_t len = 0, cap = 0;
    int mode = ed->ks.mode;
    snprintf(line, sizeof line, "bd3ed %s: keys of the %s keymap, %s mode (Esc or the help key closes this)\n\n",
             BD3ED_VERSION, ed->keymap_name[0] ? ed->keymap_name : "active", keymap_mode_name(ed->km, mode));
    help_append(&buf, &len, &cap, line);
    for (int m = 0; m < keymap_n_modes(ed->km); m++) {
        if (keymap_n_modes(ed->km) > 1) {
            snprintf(line, sizeof line, "%s mode%s\n", keymap_mode_name(ed->km, m),
                     keymap_mode_self_insert(ed->km, m) ? " (typing inserts text)" : "");
            help_append(&buf, &len, &cap, line);
        }
        for (int i = 0; i < keymap_n_bindings(ed->km); i++) {
            const keymap_binding *bd = keymap_binding_at(ed->km, i);
            if (!bd || bd->mode != m) continue;
            char keys[128];
            keymap_format_keys(bd->keys, bd->n_keys, keys, sizeof keys);
            const command *c = command_find(bd->command);
            snprintf(line, sizeof line, "  %-16s %-22s %s\n", keys, bd->command,
                     bd->help[0] ? bd->help : c ? c->help : "");
            help_append(&buf, &len, &cap, line);
        }
        help_append(&buf, &len, &cap, "\n");
    }
    help_append(&buf, &len, &cap, "Commands without a key (run them with the command prompt):\n");
    for (int i = 0; i < command_count(); i++) {
        const command *c = command_at(i);
        bool bound = false;
        for (int m = 0; m < keymap_n_modes(ed->km) && !bound; m++)
            bound = keymap_find_command(ed->km, m, c->name) != NULL;
        if (bound) continue;
        snprintf(line, sizeof line, "  %-22s %s\n", c->name, c->help);
        help_append(&buf, &len, &cap, line);
    }
    if (!buf) return;
    text *t = text_new_owned(buf, len, false);
    if (!t) { free(buf); return; }
    if (!editor_open_text(ed, t, "[help]")) { text_free(t); return; }
    buffer *b = editor_buffer(ed);
    b->readonly = true;
    b->is_help = true;
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
    for (int r = 0; ; r++) {
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
    case EDITOR_MOUSE_RELEASE:
        ed->dragging = false;
        return;
    case EDITOR_MOUSE_WHEEL_UP:
    case EDITOR_MOUSE_WHEEL_DOWN: {
        view_row *r = editor_scratch_row(ed, o.width);
        for (int i = 0; i < 3; i++) {
            if (kind == EDITOR_MOUSE_WHEEL_UP) b->top = view_row_prev(b->text, b->top, &o);
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
            if (b->cursor < first) b->cursor = first;
            else if (b->cursor > p && !r->last) b->cursor = last_pos;
        }
        return;
    }
    }
    editor_clamp_cursor(ed);
    editor_scroll(ed);
}

/* ---- recovery ---- */

/* A mapped file that another program truncated: its lost part now reads as zero bytes. Says
 * so and writes the recovery files of that file's buffers at once. */
static void editor_check_truncated(editor *ed)
{
    char path[PATH_MAX];
    while (file_mmap_fault_take(path, sizeof path)) {
        const char *slash = strrchr(path, '/');
        editor_message(ed, true, "%.200s shrank on disk: its lost end reads as NUL bytes; your "
                       "edits are kept in the recovery file", slash ? slash + 1 : path);
        editor_recovery_wait(ed);
        for (int i = 0; i < ed->n_bufs; i++) {
            buffer *b = ed->bufs[i];
            if (!b->path || strcmp(b->path, path) != 0 || !text_modified(b->text)) continue;
            if (file_recovery_write(b->text, b->path, NULL) == FILE_OK) {
                b->rec_written = true;
                b->rec_rev = text_revision(b->text);
            }
        }
    }
}

void editor_tick(editor *ed, double now)
{
    editor_check_truncated(ed);
    editor_recovery_collect(ed, false);
    if (ed->rec_job) return;
    for (int i = 0; i < ed->n_bufs; i++) {
        buffer *b = ed->bufs[i];
        if (!buffer_rec_able(b) || b->recovery_offer) continue;
        if (!text_modified(b->text)) {
            if (b->rec_written) { buffer_rec_remove(b); b->rec_written = false; }
            continue;
        }
        if (b->rec_rev == text_revision(b->text) && b->rec_written) continue;
        if (b->rec_written && now - b->rec_time < EDITOR_RECOVERY_SECONDS) continue;
        editor_model_hide(ed, i);   /* the person's text, not a running job's */
        if (text_size(b->text) >= EDITOR_RECOVERY_ASYNC_MIN) {
            bool started = editor_recovery_start(ed, b, now);   /* spans of stored bytes */
            editor_model_show(ed);
            if (started) return;   /* one write at a time */
            continue;
        }
        if (buffer_rec_write(b) == FILE_OK) {
            b->rec_written = true;
            b->rec_rev = text_revision(b->text);
            b->rec_time = now;
        }
        editor_model_show(ed);
    }
}

void editor_recovery_write_all(editor *ed)
{
    editor_recovery_wait(ed);
    for (int i = 0; i < ed->n_bufs; i++) {
        buffer *b = ed->bufs[i];
        editor_model_hide(ed, i);
        if (buffer_rec_able(b) && !b->recovery_offer && text_modified(b->text))
            buffer_rec_write(b);
        editor_model_show(ed);
    }
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
