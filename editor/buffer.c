/* buffer.c: one open text with its file, cursor, selection, line cache and recovery file path;
 * edits through the buffer keep those in step (see editor-core.h). No curses, no model. */
#include "editor-core.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "motion.h"
#include "utf8.h"

buffer *buffer_new(text *t, const char *path, const char *name)
{
    buffer *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->text = t;
    b->path = path ? strdup(path) : NULL;
    b->name = strdup(name);
    if ((path && !b->path) || !b->name) {
        free(b->path);
        free(b->name);
        free(b);
        return NULL;
    }
    b->anchor = TEXT_POS_NONE;
    b->goal_col = -1;
    return b;
}

void buffer_free(buffer *b)
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
bool buffer_rec_able(const buffer *b) { return !b->is_help && (b->path || b->rec_file); }

file_status buffer_rec_write(buffer *b, int *err)
{
    if (b->path) return file_recovery_write(b->text, b->path, err);
    return file_recovery_write_file(b->text, NULL, 0, b->rec_file, err);
}

void buffer_rec_remove(buffer *b)
{
    if (b->is_help) return;
    if (b->path)
        file_recovery_remove(b->path);
    else if (b->rec_file)
        unlink(b->rec_file);
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
    if (before) {
        b->lc_line -= nl;
        b->lc_pos -= len;
    } else if (pos < b->lc_pos)
        b->lc_valid = false;
    b->lc_rev = text_revision(b->text);
    b->cursor = shift_delete(b->cursor, pos, len);
    b->anchor = shift_delete(b->anchor, pos, len);
    b->top = shift_delete(b->top, pos, len);
    return true;
}

size_t buffer_line_of(buffer *b, size_t pos)
{
    size_t size = text_size(b->text);
    if (pos > size) pos = size;
    if (!b->lc_valid || b->lc_rev != text_revision(b->text) || b->lc_pos > size ||
        (pos < b->lc_pos && pos < b->lc_pos - pos)) { /* nearer the start: count from 0 */
        b->lc_pos = 0;
        b->lc_line = 0;
    }
    if (pos >= b->lc_pos)
        b->lc_line += view_count_lines(b->text, b->lc_pos, pos);
    else
        b->lc_line -= view_count_lines(b->text, pos, b->lc_pos);
    b->lc_pos = pos;
    b->lc_rev = text_revision(b->text);
    b->lc_valid = true;
    return b->lc_line;
}

size_t buffer_col_of(buffer *b, size_t pos)
{
    size_t ls = view_line_start(b->text, pos), col = 0, from = ls;
    if (b->cc_valid && text_changed_from(b->text, b->cc_rev) < b->cc_pos) b->cc_valid = false;
    if (b->cc_valid && b->cc_ls == ls && b->cc_pos <= pos) { /* count on from there */
        ls = b->cc_pos;
        col = b->cc_col;
    }
    while (ls < pos) {
        size_t n;
        const char *c = text_chunk(b->text, ls, &n);
        if (!c) break;
        if (n > pos - ls) n = pos - ls;
        for (size_t i = 0; i < n; i++) col += !utf8_is_cont((unsigned char)c[i]);
        ls += n;
    }
    b->cc_ls = from;
    b->cc_pos = ls;
    b->cc_col = col;
    b->cc_rev = text_revision(b->text);
    b->cc_valid = true;
    return col;
}

size_t buffer_inclusive_end(const text *t, size_t p)
{
    size_t next = view_next_cluster(t, p);
    if (next > p && next == text_size(t)) {
        int c = text_byte_at(t, p);
        if (c == '\n' || (c == '\r' && next - p == 2)) return p; /* the last line keeps its end */
    }
    return next;
}

bool buffer_selection(const buffer *b, size_t *start, size_t *end)
{
    if (!b || b->anchor == TEXT_POS_NONE) return false;
    size_t lo = b->anchor < b->cursor ? b->anchor : b->cursor;
    size_t hi = b->anchor < b->cursor ? b->cursor : b->anchor;
    if (b->inclusive && b->linewise) {
        size_t e;
        motion_line_range(b->text, lo, &lo, &e);
        motion_line_range(b->text, hi, &e, &hi);
    } else if (b->inclusive)
        hi = buffer_inclusive_end(b->text, hi);
    else if (lo == hi)
        return false;
    *start = lo;
    *end = hi;
    return true;
}

void buffer_select_range(buffer *b, size_t start, size_t end)
{
    b->anchor = start;
    b->linewise = false;
    /* inclusive: on the last character, unless the range runs to the end of the text (whose
     * last line break buffer_inclusive_end leaves out) */
    b->cursor =
        b->inclusive && end > start && end < text_size(b->text) ? view_prev_cluster(b->text, end) : end;
}

text *buffer_text(const buffer *b) { return b->text; }
size_t buffer_cursor(const buffer *b) { return b->cursor; }
size_t buffer_top(const buffer *b) { return b->top; }
const char *buffer_name(const buffer *b) { return b->name; }
bool buffer_readonly(const buffer *b) { return b->readonly; }
bool buffer_file_readonly(const buffer *b) { return b->file_readonly; }
bool buffer_linewise(const buffer *b) { return b->linewise && b->anchor != TEXT_POS_NONE; }
