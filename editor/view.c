/* view.c: layout of screen rows from stored bytes (see view.h).
 * Depends on text.h and libutf8proc only. */
#include "view.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---- known columns on long lines ----
 * A memo says: from line start ls, position q (a cell boundary, no line end in between) is at
 * column col. It stays valid while the text changes only at q or after (text_changed_from), so
 * typing at the end of a very long line never walks the line again. Per thread: no locks. */
#define VIEW_MEMO_N   16   /* memos kept */
#define VIEW_MEMO_MIN 4096 /* walks shorter than this many bytes are not remembered */

typedef struct view_memo {
    uint64_t id;   /* text_id of its text; 0 for a free slot */
    uint64_t rev;  /* text revision it was last checked at */
    size_t ls;     /* a line start */
    size_t q;      /* a cell boundary on that line, no line end in [ls, q) */
    long col;      /* column of q counted from ls; -1 when not known */
    int tab_width; /* tab width col was counted with */
    unsigned used; /* clock of its last use, for replacement */
} view_memo;

static _Thread_local view_memo view_memos[VIEW_MEMO_N]; /* this thread's memos */
static _Thread_local unsigned view_memo_clock;          /* use counter */
static _Thread_local size_t view_work_count;            /* cells made + bytes scanned */

size_t view_work(void) { return view_work_count; }

/* The memo of t on line ls with the greatest q <= max_q (and, when want_col, a known column
 * <= max_col for tab width tw); NULL when none is valid. */
static view_memo *view_memo_find(const text *t, size_t ls, size_t max_q, bool want_col, long max_col, int tw)
{
    uint64_t id = text_id(t), rev = text_revision(t);
    view_memo *best = NULL;
    for (int i = 0; i < VIEW_MEMO_N; i++) {
        view_memo *m = &view_memos[i];
        if (m->id != id || (ls != SIZE_MAX && m->ls != ls)) continue;
        if (m->rev != rev) {
            if (text_changed_from(t, m->rev) <= m->q) {
                m->id = 0;
                continue;
            }
            m->rev = rev;
        }
        if (m->q > max_q || m->ls > max_q) continue;
        if (want_col && (m->col < 0 || m->col > max_col || m->tab_width != tw)) continue;
        if (!best || m->q > best->q) best = m;
    }
    if (best) best->used = ++view_memo_clock;
    return best;
}

static void view_memo_put(const text *t, size_t ls, size_t q, long col, int tw)
{
    if (q < ls || q - ls < VIEW_MEMO_MIN) return;
    uint64_t id = text_id(t);
    view_memo *slot = NULL;
    for (int i = 0; i < VIEW_MEMO_N && !slot; i++) {
        view_memo *m = &view_memos[i];
        /* the same line, near the same place: move it (one memo per place) */
        if (m->id == id && m->ls == ls && (m->col < 0) == (col < 0) &&
            (m->q > q ? m->q - q : q - m->q) < VIEW_MEMO_MIN)
            slot = m;
    }
    for (int i = 0; i < VIEW_MEMO_N && !slot; i++)
        if (!view_memos[i].id) slot = &view_memos[i];
    for (int i = 0; i < VIEW_MEMO_N; i++)
        if (!slot || (slot->id && view_memos[i].used < slot->used)) slot = &view_memos[i];
    *slot = (view_memo){id, text_revision(t), ls, q, col, tw, ++view_memo_clock};
}

/* Adds the widths of plain ASCII bytes from pos on (each followed by another ASCII byte, so
 * that no combining mark can join it; not a tab or line end) to *col while it stays <=
 * max_col and pos < end. Returns the position reached: what view_cell_make would do, fast. */
static size_t view_skip_plain(const text *t, size_t pos, size_t end, long *col, long max_col)
{
    while (pos < end) {
        size_t n;
        const char *c = text_chunk(t, pos, &n);
        if (!c) break;
        if (n > end - pos + 1) n = end - pos + 1; /* one byte past end to see the next */
        size_t i = 0;
        long cl = *col;
        for (; i + 1 < n; i++) {
            unsigned char b = (unsigned char)c[i], nb = (unsigned char)c[i + 1];
            if (b >= 0x80 || nb >= 0x80 || b == '\t' || b == '\n' || b == '\r') break;
            long w = b < 0x20 || b == 0x7f ? 2 : 1;
            if (cl + w > max_col) break;
            cl += w;
        }
        *col = cl;
        view_work_count += i;
        pos += i;
        if (i + 1 < n || i == 0) break;
    }
    return pos;
}

bool view_row_init(view_row *row, int width)
{
    memset(row, 0, sizeof *row);
    if (width < 1) width = 1;
    row->cells = malloc((size_t)(width + 1) * sizeof *row->cells);
    if (!row->cells) return false;
    row->cap_cells = width + 1;
    return true;
}

void view_row_release(view_row *row)
{
    free(row->cells);
    row->cells = NULL;
    row->cap_cells = 0;
}

int32_t view_decode(const text *t, size_t pos, int *len)
{
    size_t n;
    char buf[4];
    const char *c = text_chunk(t, pos, &n);
    if (!c) {
        *len = 0;
        return -1;
    }
    if (n < 4) {
        n = text_read(t, pos, 4, buf);
        c = buf;
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t r = utf8proc_iterate((const utf8proc_uint8_t *)c, n > 4 ? 4 : (utf8proc_ssize_t)n, &cp);
    if (r <= 0) {
        *len = 1;
        return -1;
    }
    *len = (int)r;
    return cp;
}

/* True for code points that must not reach the terminal as themselves. */
static bool view_is_control(int32_t cp)
{
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) return true;
    utf8proc_category_t cat = utf8proc_category(cp);
    return cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP ||
           cat == UTF8PROC_CATEGORY_CS || cat == UTF8PROC_CATEGORY_CN || utf8proc_charwidth(cp) == 0;
}

static bool view_is_blank(int32_t cp) { return cp == ' ' || cp == '\t'; }

/* Fills cell with the cluster at pos (not a line end); col is the column it starts at. */
static void view_cell_make(const text *t, size_t pos, long col, const view_opts *o, view_cell *cell)
{
    int len;
    view_work_count++;
    int32_t cp = view_decode(t, pos, &len);
    cell->pos = pos;
    cell->col = (uint16_t)(col > 65535 ? 65535 : col);
    if (cp < 0) {
        int b = text_byte_at(t, pos);
        cell->len = 1;
        cell->kind = VIEW_CELL_INVALID;
        snprintf(cell->glyph, sizeof cell->glyph, "<%02x>", b & 0xff);
        cell->width = 4;
        return;
    }
    if (cp == '\t') {
        int w = o->tab_width - (int)(col % o->tab_width);
        if (w > VIEW_GLYPH_MAX - 1) w = VIEW_GLYPH_MAX - 1;
        cell->len = 1;
        cell->kind = VIEW_CELL_TAB;
        cell->width = (uint8_t)w;
        memset(cell->glyph, ' ', (size_t)w);
        cell->glyph[w] = 0;
        return;
    }
    if (view_is_control(cp)) {
        cell->len = (uint32_t)len;
        cell->kind = VIEW_CELL_CONTROL;
        if (cp < 0x20 || cp == 0x7f)
            snprintf(cell->glyph, sizeof cell->glyph, "^%c", (char)(cp ^ 0x40));
        else
            snprintf(cell->glyph, sizeof cell->glyph, "<U+%04X>", (unsigned)cp);
        cell->width = (uint8_t)strlen(cell->glyph);
        return;
    }
    /* a grapheme cluster: the base and everything that does not break from it */
    size_t p = pos + (size_t)len, glen = (size_t)len;
    utf8proc_int32_t state = 0, prev = cp;
    char tmp[4];
    text_read(t, pos, (size_t)len, tmp);
    memcpy(cell->glyph, tmp, (size_t)len);
    for (;;) {
        int l2;
        int32_t c2 = view_decode(t, p, &l2);
        if (c2 < 0 || c2 == '\n' || c2 == '\r' || p + (size_t)l2 - pos > VIEW_CLUSTER_MAX) break;
        if (utf8proc_grapheme_break_stateful(prev, c2, &state)) break;
        if (view_is_control(c2) && utf8proc_charwidth(c2) != 0) break;
        if (c2 < 0x20 || c2 == 0x7f || (c2 >= 0x80 && c2 < 0xa0)) break;
        if (glen + (size_t)l2 < VIEW_GLYPH_MAX) {
            text_read(t, p, (size_t)l2, cell->glyph + glen);
            glen += (size_t)l2;
        }
        prev = c2;
        p += (size_t)l2;
    }
    cell->glyph[glen] = 0;
    cell->len = (uint32_t)(p - pos);
    cell->kind = VIEW_CELL_TEXT;
    int w = utf8proc_charwidth(cp);
    cell->width = (uint8_t)(w < 1 ? 1 : w);
}

/* Length of the line end at pos ("\n" 1, "\r\n" 2), or 0 when pos is not a line end. */
static int view_line_end_len(const text *t, size_t pos)
{
    int b = text_byte_at(t, pos);
    if (b == '\n') return 1;
    if (b == '\r' && text_byte_at(t, pos + 1) == '\n') return 2;
    return 0;
}

static size_t view_align(const text *t, size_t pos);

static size_t view_row_finish(view_row *row, size_t content_end, size_t end, bool newline, size_t size)
{
    row->content_end = content_end;
    row->end = end;
    row->newline = newline;
    row->last = !newline && end >= size;
    return end;
}

size_t view_row_layout(const text *t, size_t start, const view_opts *o, view_row *row)
{
    size_t size = text_size(t), pos = start;
    int width = o->width < 1 ? 1 : o->width;
    long col = 0;
    int n = 0, brk = -1;
    row->start = start;
    row->n_cells = 0;
    bool skipped = false;             /* the columns before hscroll were passed (no wrap) */
    if (!o->wrap && o->hscroll > 0) { /* start from a known column on this line */
        view_memo *m = view_memo_find(t, start, size, true, o->hscroll, o->tab_width);
        if (m) {
            pos = m->q;
            col = m->col;
        }
    }
    /* soft-wrapped rows also end at anchors (multiples of VIEW_ANCHOR), so that a row start
     * can be found from the nearest anchor instead of the start of a very long line */
    size_t anchor = o->wrap ? view_align(t, (start / VIEW_ANCHOR + 1) * VIEW_ANCHOR) : SIZE_MAX;
    for (;;) {
        if (pos >= anchor && pos > start) {
            row->n_cells = n;
            return view_row_finish(row, pos, pos, false, size);
        }
        if (pos >= size) break;
        int nl = view_line_end_len(t, pos);
        if (nl) {
            row->n_cells = n;
            return view_row_finish(row, pos, pos + (size_t)nl, true, size);
        }
        if (!o->wrap && col < o->hscroll) {
            pos = view_skip_plain(t, pos, size, &col, o->hscroll);
            if (pos >= size || view_line_end_len(t, pos)) continue;
        } else if (!o->wrap && !skipped) {
            skipped = true;
            view_memo_put(t, start, pos, col, o->tab_width); /* the first column shown */
        }
        view_cell cell;
        view_cell_make(t, pos, col, o, &cell);
        if (!o->wrap) {
            if (col >= o->hscroll + width) {
                size_t e = view_line_end(t, pos);
                int l = view_line_end_len(t, e);
                row->n_cells = n;
                return view_row_finish(row, e, e + (size_t)l, l > 0, size);
            }
            if (col >= o->hscroll && col + cell.width <= o->hscroll + width && n < row->cap_cells) {
                cell.col = (uint16_t)(col - o->hscroll);
                row->cells[n++] = cell;
            }
            col += cell.width;
            pos += cell.len;
            continue;
        }
        bool blank = cell.kind == VIEW_CELL_TAB || (cell.kind == VIEW_CELL_TEXT && cell.len == 1 &&
                                                    view_is_blank((unsigned char)cell.glyph[0]));
        if (col + cell.width > width && n > 0) {
            if (blank && n < row->cap_cells) {
                cell.kind = VIEW_CELL_HANG;
                cell.width = 0;
                cell.glyph[0] = 0;
                cell.col = (uint16_t)(col < width ? col : width - 1);
                row->cells[n++] = cell;
                pos += cell.len;
            } else if (brk > 0 && brk < n) {
                n = brk;
                pos = row->cells[brk].pos;
            }
            row->n_cells = n;
            return view_row_finish(row, pos, pos, false, size);
        }
        if (n >= row->cap_cells) break;
        row->cells[n++] = cell;
        col += cell.width;
        pos += cell.len;
        if (blank) brk = n;
    }
    row->n_cells = n;
    return view_row_finish(row, pos, pos, false, size);
}

size_t view_line_start(const text *t, size_t pos)
{
    if (pos > text_size(t)) pos = text_size(t);
    size_t from = pos, stop = 0, found = 0;
    /* a memo on this line: no line end before its q, so the scan stops there */
    view_memo *m = view_memo_find(t, SIZE_MAX, pos, false, 0, 0);
    for (int i = 0; m && i < 1; i++) {
        stop = m->q;
        found = m->ls;
    }
    while (pos > stop) {
        size_t n;
        const char *c = text_chunk_before(t, pos, &n);
        if (n > pos - stop) {
            c += n - (pos - stop);
            n = pos - stop;
        }
        view_work_count += n;
        const char *nl = memrchr(c, '\n', n);
        if (nl) {
            size_t ls = pos - n + (size_t)(nl - c) + 1;
            if (!m || ls != found) view_memo_put(t, ls, from, -1, 0);
            return ls;
        }
        pos -= n;
    }
    if (!m) view_memo_put(t, 0, from, -1, 0);
    return found;
}

size_t view_line_end(const text *t, size_t pos)
{
    size_t size = text_size(t);
    while (pos < size) {
        size_t n;
        const char *c = text_chunk(t, pos, &n);
        const char *nl = memchr(c, '\n', n);
        if (nl) {
            size_t e = pos + (size_t)(nl - c);
            if (e > 0 && text_byte_at(t, e - 1) == '\r') e--;
            return e;
        }
        pos += n;
    }
    return size;
}

/* A position that starts a code point, at or after pos (at most 3 bytes on). */
static size_t view_align(const text *t, size_t pos)
{
    for (int i = 0; i < 3; i++) {
        int b = text_byte_at(t, pos);
        if (b < 0 || (b & 0xc0) != 0x80) break;
        pos++;
    }
    return pos;
}

size_t view_row_start(const text *t, size_t pos, const view_opts *o)
{
    size_t size = text_size(t);
    if (pos > size) pos = size;
    size_t ls = view_line_start(t, pos);
    if (!o->wrap) return ls;
    /* the nearest anchor before pos (rows break there too), or the line start */
    size_t r = pos > 0 ? view_align(t, (pos - 1) / VIEW_ANCHOR * VIEW_ANCHOR) : 0;
    if (r < ls || r > pos) r = ls;
    view_row row;
    if (!view_row_init(&row, o->width)) return r;
    for (;;) {
        size_t next = view_row_layout(t, r, o, &row);
        if (view_row_has(&row, pos, size) || next <= r) break;
        r = next;
    }
    view_row_release(&row);
    return r;
}

size_t view_row_prev(const text *t, size_t row_start, const view_opts *o)
{
    if (row_start == 0) return 0;
    return view_row_start(t, row_start - 1, o);
}

bool view_row_has(const view_row *row, size_t pos, size_t text_size)
{
    if (pos < row->start) return false;
    if (pos < row->end) return true;
    return pos == row->end && row->last && pos == text_size;
}

int view_row_col(const view_row *row, size_t pos)
{
    for (int i = 0; i < row->n_cells; i++) {
        const view_cell *c = &row->cells[i];
        if (pos >= c->pos && pos < c->pos + c->len) return c->col;
    }
    if (row->n_cells == 0) return 0;
    const view_cell *l = &row->cells[row->n_cells - 1];
    return l->col + l->width;
}

size_t view_row_pos(const view_row *row, int col)
{
    for (int i = 0; i < row->n_cells; i++) {
        const view_cell *c = &row->cells[i];
        if (col < c->col + c->width) return c->pos;
    }
    if (!row->newline && !row->last && row->n_cells > 0)
        return row->cells[row->n_cells - 1].pos; /* stay on this wrapped row */
    return row->content_end;
}

/* Walks cells from rs (at column *col) towards pos: stops at a line end, at pos, or before a
 * cell that would cross pos. Returns the cell boundary reached. */
static size_t view_walk(const text *t, size_t rs, size_t pos, long *col, const view_opts *o)
{
    view_cell cell;
    while (rs < pos && !view_line_end_len(t, rs)) {
        rs = view_skip_plain(t, rs, pos, col, LONG_MAX);
        if (rs >= pos || view_line_end_len(t, rs)) break;
        view_cell_make(t, rs, *col, o, &cell);
        if (rs + cell.len > pos) break;
        *col += cell.width;
        rs += cell.len;
    }
    return rs;
}

long view_col_from(const text *t, size_t rs, size_t pos, const view_opts *o)
{
    size_t from = rs;
    long col = 0;
    view_memo *m = view_memo_find(t, rs, pos, true, LONG_MAX, o->tab_width);
    if (m) {
        rs = m->q;
        col = m->col;
    }
    bool line_start = from == 0 || text_byte_at(t, from - 1) == '\n'; /* memos start there */
    if (pos - rs > 2 * (size_t)VIEW_ANCHOR) {
        /* a memo a little before pos too: the columns shown left of pos start from it */
        rs = view_walk(t, rs, pos - VIEW_ANCHOR, &col, o);
        if (line_start) view_memo_put(t, from, rs, col, o->tab_width);
    }
    rs = view_walk(t, rs, pos, &col, o);
    if (line_start) view_memo_put(t, from, rs, col, o->tab_width);
    return col;
}

size_t view_count_lines(const text *t, size_t from, size_t to)
{
    size_t count = 0, pos = from;
    if (to > text_size(t)) to = text_size(t);
    while (pos < to) {
        size_t n;
        const char *c = text_chunk(t, pos, &n);
        if (n > to - pos) n = to - pos;
        const char *p = c, *e = c + n;
        while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
            count++;
            p++;
        }
        pos += n;
    }
    return count;
}

size_t view_line_pos(const text *t, size_t line)
{
    size_t pos = 0, size = text_size(t);
    while (line > 0 && pos < size) {
        size_t n;
        const char *c = text_chunk(t, pos, &n);
        const char *p = c, *e = c + n;
        while (line > 0 && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
            line--;
            p++;
        }
        if (line == 0) return pos + (size_t)(p - c);
        pos += n;
    }
    return line == 0 ? pos : size;
}

size_t view_next_cluster(const text *t, size_t pos)
{
    size_t size = text_size(t);
    if (pos >= size) return size;
    int nl = view_line_end_len(t, pos);
    if (nl) return pos + (size_t)nl;
    view_cell cell;
    view_opts o = {.width = 80, .wrap = true, .tab_width = 8, .hscroll = 0};
    view_cell_make(t, pos, 0, &o, &cell);
    return pos + cell.len;
}

size_t view_prev_cluster(const text *t, size_t pos)
{
    if (pos == 0) return 0;
    if (pos > text_size(t)) return text_size(t);
    if (text_byte_at(t, pos - 1) == '\n')
        return pos >= 2 && text_byte_at(t, pos - 2) == '\r' ? pos - 2 : pos - 1;
    size_t lim = pos > 2 * VIEW_CLUSTER_MAX ? pos - 2 * VIEW_CLUSTER_MAX : 0, s = pos - 1;
    while (s > lim && text_byte_at(t, s - 1) != '\n') s--;
    s = view_align(t, s);
    size_t prev = s;
    while (s < pos) {
        prev = s;
        s = view_next_cluster(t, s);
    }
    return prev;
}

size_t view_cluster_start(const text *t, size_t pos)
{
    size_t size = text_size(t);
    if (pos == 0 || pos >= size) return pos > size ? size : pos;
    size_t prev = view_prev_cluster(t, pos);
    return view_next_cluster(t, prev) == pos ? pos : prev;
}
